"""bert_tf.models.gpt: causality, tied embeddings, sampling, input transformations, heads."""

import keras
import numpy as np
import pytest
from bert_helpers import input_gradient, to_numpy
from keras import ops

from bert_tf.models.gpt import (
    GPTClassifier,
    GPTConfig,
    GPTInputFormatter,
    GPTLanguageModel,
    GPTModel,
    sample_next,
)

pytestmark = pytest.mark.multibackend

V, SEQ = 23, 10


def tiny(**overrides):
    values = dict(
        vocab_size=V,
        max_length=16,
        hidden_size=16,
        num_layers=2,
        num_heads=4,
        intermediate_size=32,
        dropout=0.0,
        attention_dropout=0.0,
    )
    values.update(overrides)
    return GPTConfig(**values)


def _ids(batch=2, seq=SEQ, seed=0):
    return np.random.default_rng(seed).integers(1, V, (batch, seq)).astype("int32")


@pytest.mark.parametrize("norm_first", [False, True])
def test_output_at_t_ignores_tokens_after_t(norm_first):
    lm = GPTLanguageModel(tiny(norm_first=norm_first))
    ids = _ids()
    logits = to_numpy(lm(ids))
    assert logits.shape == (2, SEQ, V)
    for t in (0, 4, SEQ - 2):
        changed = ids.copy()
        changed[:, t + 1 :] = (changed[:, t + 1 :] + 7) % (V - 1) + 1  # every later token differs
        after = to_numpy(lm(changed))
        np.testing.assert_allclose(after[:, : t + 1], logits[:, : t + 1], atol=1e-5)
        assert np.abs(after[:, t + 1 :] - logits[:, t + 1 :]).max() > 1e-4  # the future did change


def test_gradient_of_position_t_is_zero_for_later_embeddings():
    model = GPTModel(tiny())
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, SEQ, 16)).astype("float32")
    w = rng.normal(size=(16,)).astype("float32")  # (a plain sum of a LayerNorm output is constant)

    def position_3(inputs):
        h = inputs
        for block in model.blocks:
            h = block(h)
        return ops.sum(h[:, 3] * w)

    grad = input_gradient(position_3, x)
    assert np.abs(grad[:, 4:]).max() == 0.0
    assert np.abs(grad[:, :4]).sum(-1).min() > 1e-4  # every earlier position matters


def test_output_projection_is_tied_to_input_embedding():
    lm = GPTLanguageModel(tiny())
    ids = _ids()
    hidden = to_numpy(lm.backbone(ids))
    emb = to_numpy(lm.backbone.token_embedding)
    np.testing.assert_allclose(to_numpy(lm(ids)), hidden @ emb.T, atol=1e-4)
    # One table, not two: the LM has only the decoder's weights.
    assert (
        sum(int(np.prod(w.shape)) for w in lm.weights if "embedding" in w.path) == V * 16 + 16 * 16
    )


def test_fit_with_the_bert_optimizer_learns_a_causal_pattern():
    lm = GPTLanguageModel(tiny())
    from bert_tf.train.optimization import create_optimizer

    lm.compile(
        optimizer=create_optimizer(lm, learning_rate=1e-2, total_steps=40, warmup_steps=4),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    # A deterministic pattern: token t+1 = token t + 1 (mod V-1). Learnable only causally.
    start = np.random.default_rng(2).integers(1, V, (64, 1))
    seqs = ((start + np.arange(SEQ + 1)[None, :] - 1) % (V - 1) + 1).astype("int32")
    before = float(lm.evaluate(seqs[:, :-1], seqs[:, 1:], verbose=0))
    lm.fit(seqs[:, :-1], seqs[:, 1:], batch_size=32, epochs=20, verbose=0)
    after = float(lm.evaluate(seqs[:, :-1], seqs[:, 1:], verbose=0))
    assert before > 2.5 and after < 0.5 * before
    greedy = lm.generate(seqs[:1, :3], max_new_tokens=4, temperature=0)
    np.testing.assert_array_equal(greedy[0, 3:], seqs[0, 3:7])


def test_sample_next_respects_top_k_and_temperature():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 50))
    top3 = np.argsort(logits, axis=-1)[:, -3:]
    draws = np.stack([sample_next(logits, 1.0, top_k=3, rng=rng) for _ in range(300)], 1)
    for row in range(4):
        assert set(draws[row]) <= set(top3[row])
        assert len(set(draws[row])) == 3  # all three are reachable
    np.testing.assert_array_equal(sample_next(logits, 0.0), logits.argmax(-1))
    assert set(sample_next(logits, 1.0, top_k=1, rng=rng)) <= set(logits.argmax(-1))
    # Low temperature concentrates on the argmax; high temperature spreads out.
    cold = [sample_next(logits[:1], 0.05, rng=rng)[0] for _ in range(200)]
    hot = [sample_next(logits[:1], 5.0, rng=rng)[0] for _ in range(200)]
    p1 = np.exp(logits[0] - logits[0].max())
    assert np.mean(np.array(cold) == logits[0].argmax()) > p1.max() / p1.sum() + 0.3
    assert len(set(hot)) > 20
    # Frequencies follow softmax(logits / T).
    p = np.exp(logits[0] / 2.0)
    p /= p.sum()
    draws = [sample_next(logits[:1], 2.0, rng=rng)[0] for _ in range(4000)]
    freq = np.bincount(draws, minlength=50) / 4000
    assert np.abs(freq - p).max() < 0.03
    with pytest.raises(ValueError):
        sample_next(logits, 1.0, top_k=0)


def test_generation_is_deterministic_under_a_seed():
    lm = GPTLanguageModel(tiny())
    prompt = _ids(batch=2, seq=3)
    a = lm.generate(prompt, max_new_tokens=15, temperature=1.0, top_k=5, seed=7)
    b = lm.generate(prompt, max_new_tokens=15, temperature=1.0, top_k=5, seed=7)
    c = lm.generate(prompt, max_new_tokens=15, temperature=1.0, top_k=5, seed=8)
    assert a.shape == (2, 18)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a[:, :3], prompt)
    assert (a != c).any()
    # Longer than max_length: the context window slides.
    assert lm.generate(prompt[:1], max_new_tokens=20, temperature=0).shape == (1, 23)


def test_sequence_log_prob_is_sum_of_next_token_log_probs():
    lm = GPTLanguageModel(tiny())
    ids = _ids(batch=1, seq=6)
    logits = to_numpy(lm(ids[:, :-1]))[0]
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = sum(logp[t - 1, ids[0, t]] for t in range(2, 6))
    np.testing.assert_allclose(lm.sequence_log_prob(ids, start=2), [expected], rtol=1e-4)


def test_input_formatter_builds_the_four_transformations():
    f = GPTInputFormatter(start_id=1, delimiter_id=2, extract_id=3, max_length=9)
    c = f.classification([[10, 11], [12, 13, 14, 15, 16, 17, 18, 19]])
    np.testing.assert_array_equal(c["token_ids"][0], [1, 10, 11, 3, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(c["token_ids"][1], [1, 12, 13, 14, 15, 16, 17, 18, 3])
    np.testing.assert_array_equal(c["extract_index"], [3, 8])
    e = f.entailment([[10, 11, 12, 13, 14]], [[20, 21, 22]])  # too long: premise loses its start
    np.testing.assert_array_equal(e["token_ids"][0], [1, 12, 13, 14, 2, 20, 21, 22, 3])
    s = f.similarity([[10]], [[20, 21]])
    assert s["token_ids"].shape == (1, 2, 9)
    np.testing.assert_array_equal(s["token_ids"][0, 0, :6], [1, 10, 2, 20, 21, 3])
    np.testing.assert_array_equal(s["token_ids"][0, 1, :6], [1, 20, 21, 2, 10, 3])
    np.testing.assert_array_equal(s["extract_index"], [[5, 5]])
    m = f.multiple_choice([[10, 11]], [[[20], [21, 22], [23]]])
    assert m["token_ids"].shape == (1, 3, 9)
    np.testing.assert_array_equal(m["token_ids"][0, 1, :7], [1, 10, 11, 2, 21, 22, 3])
    np.testing.assert_array_equal(m["extract_index"], [[5, 6, 5]])
    with pytest.raises(ValueError):
        f.multiple_choice([[10], [11]], [[[20], [21]], [[22]]])


def test_classifier_heads_read_the_extract_token():
    backbone = GPTModel(tiny())
    f = GPTInputFormatter(1, 2, 3, max_length=12)
    hidden_of = lambda ids: to_numpy(backbone(ids))  # noqa: E731

    clf = GPTClassifier(backbone, num_classes=3, dropout=0.0)
    x = f.classification([[10, 11], [12, 13, 14, 15]])
    logits = to_numpy(clf(x))
    h = hidden_of(x["token_ids"])[np.arange(2), x["extract_index"]]
    kernel, bias = (to_numpy(w) for w in clf.head.weights)
    np.testing.assert_allclose(logits, h @ kernel + bias, atol=1e-4)
    # Changing the padding after the extract token changes nothing (causal attention).
    padded = dict(x, token_ids=np.where(x["token_ids"] == 0, 17, x["token_ids"]))
    np.testing.assert_allclose(to_numpy(clf(padded)), logits, atol=1e-5)

    sim = GPTClassifier(backbone, num_classes=2, mode="similarity", dropout=0.0)
    x = f.similarity([[10, 11], [12]], [[13], [14, 15, 16]])
    swapped = f.similarity([[13], [14, 15, 16]], [[10, 11], [12]])
    assert to_numpy(sim(x)).shape == (2, 2)
    np.testing.assert_allclose(to_numpy(sim(x)), to_numpy(sim(swapped)), atol=1e-5)  # symmetric

    mc = GPTClassifier(backbone, mode="multiple_choice", dropout=0.0)
    x = f.multiple_choice([[10], [11]], [[[20], [21], [22]], [[20], [21], [22]]])
    scores = to_numpy(mc(x))
    assert scores.shape == (2, 3)
    flat = {k: v.reshape(6, *v.shape[2:]) for k, v in x.items()}
    single = GPTClassifier(backbone, num_classes=1, dropout=0.0)
    single.head.set_weights(mc.head.get_weights())
    np.testing.assert_allclose(scores.reshape(-1), to_numpy(single(flat))[:, 0], atol=1e-5)
    with pytest.raises(ValueError):
        GPTClassifier(backbone, mode="regression")


def test_classifier_fine_tunes_with_auxiliary_lm_loss_and_round_trips(tmp_path):
    backbone = GPTModel(tiny())
    clf = GPTClassifier(backbone, num_classes=2, dropout=0.0, lm_weight=0.5)
    f = GPTInputFormatter(1, 2, 3, max_length=12)
    rng = np.random.default_rng(3)
    texts = [list(rng.integers(4, V, 6)) for _ in range(64)]
    labels = np.array([int(t[0] < 13) for t in texts])  # the first word decides
    x = f.classification(texts)
    clf.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = clf.fit(x, labels, batch_size=16, epochs=25, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    # The total loss includes 0.5 * the LM loss, so it is larger than the classification loss.
    ce = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, clf(x)))
    assert history.history["loss"][-1] > ce + 0.3

    path = str(tmp_path / "clf.keras")
    clf.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(to_numpy(loaded(x)), to_numpy(clf(x)), atol=1e-5)
    assert loaded.backbone.config == backbone.config
