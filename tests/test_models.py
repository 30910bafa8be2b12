"""BertModel, BertPretrainer and the fine-tuning models: outputs, masking, tying, decoding,
`.keras` round trips in safe mode, a training step, mixed precision."""

import itertools

import keras
import numpy as np
import pytest
from bert_helpers import bert_inputs, tiny_config, to_numpy

from bert_tf.models.bert import BertModel
from bert_tf.models.finetune import (
    BertClassifier,
    BertSpanQA,
    BertTokenClassifier,
    decode_best_span,
)
from bert_tf.models.pretrainer import BertPretrainer

pytestmark = pytest.mark.multibackend


def _with_positions(inputs, positions=((1, 3), (0, 2), (4, 4))):
    return {**inputs, "masked_positions": np.array(positions, "int32")}


def test_bert_model_outputs_and_hidden_states():
    config = tiny_config()
    model = BertModel(config)
    x = bert_inputs()
    out = model(x)
    assert set(out) == {"sequence_output", "pooled_output"}
    assert tuple(out["sequence_output"].shape) == (3, 12, 32)
    assert tuple(out["pooled_output"].shape) == (3, 32)
    full = model(x, output_hidden_states=True)
    states = full["hidden_states"]
    assert len(states) == config.num_layers + 1  # embeddings output + every layer
    np.testing.assert_allclose(to_numpy(states[-1]), to_numpy(out["sequence_output"]), atol=1e-6)
    np.testing.assert_allclose(
        to_numpy(states[0]), to_numpy(model.embeddings(x["token_ids"], x["segment_ids"])), atol=1e-6
    )
    assert "hidden_states" in BertModel(config, output_hidden_states=True)(x)


def test_bert_model_weight_names_are_stable():
    model = BertModel(tiny_config(num_layers=1))
    model.build()
    assert [v.path for v in model.weights] == [
        "bert/embeddings/word_embeddings",
        "bert/embeddings/position_embeddings",
        "bert/embeddings/segment_embeddings",
        "bert/embeddings/layer_norm/gamma",
        "bert/embeddings/layer_norm/beta",
        *[
            f"bert/layer_0/attention/{d}/{w}"
            for d in ("query", "key", "value", "output")
            for w in ("kernel", "bias")
        ],
        "bert/layer_0/attention_norm/gamma",
        "bert/layer_0/attention_norm/beta",
        "bert/layer_0/feed_forward/intermediate/kernel",
        "bert/layer_0/feed_forward/intermediate/bias",
        "bert/layer_0/feed_forward/output/kernel",
        "bert/layer_0/feed_forward/output/bias",
        "bert/layer_0/output_norm/gamma",
        "bert/layer_0/output_norm/beta",
        "bert/pooler/dense/kernel",
        "bert/pooler/dense/bias",
    ]
    assert model.word_embeddings is model.embeddings.word_embeddings


def test_defaults_for_single_unpadded_sentences():
    model = BertModel(tiny_config())
    x = bert_inputs(lengths=[12, 12, 12])
    x["segment_ids"][:] = 0
    full = to_numpy(model(x)["sequence_output"])
    short = to_numpy(model({"token_ids": x["token_ids"]})["sequence_output"])
    np.testing.assert_allclose(short, full, atol=1e-6)


def test_padding_does_not_change_real_outputs():
    model = BertModel(tiny_config())
    x = bert_inputs()
    out = model(x)
    y = {k: v.copy() for k, v in x.items()}
    y["token_ids"][2, 6:] = np.arange(6) + 40  # garbage where padding_mask is 0
    y["segment_ids"][2, 6:] = 1
    out2 = model(y)
    np.testing.assert_allclose(
        to_numpy(out2["sequence_output"])[2, :6], to_numpy(out["sequence_output"])[2, :6], atol=1e-5
    )
    np.testing.assert_allclose(
        to_numpy(out2["pooled_output"]), to_numpy(out["pooled_output"]), atol=1e-5
    )
    # and the same sentence without any padding at all gives the same vectors
    alone = {k: v[2:3, :6] for k, v in x.items()}
    np.testing.assert_allclose(
        to_numpy(model(alone)["sequence_output"])[0],
        to_numpy(out["sequence_output"])[2, :6],
        atol=1e-5,
    )


def test_pretrainer_mlm_at_masked_positions_with_tied_embeddings():
    config = tiny_config()
    model = BertPretrainer(config)
    x = _with_positions(bert_inputs())
    out = model(x)
    assert tuple(out["mlm_logits"].shape) == (3, 2, config.vocab_size)
    assert tuple(out["nsp_logits"].shape) == (3, 2)
    # Exactly one (vocab, hidden) matrix: the MLM output projection is the word embedding.
    vocab_sized = [v.path for v in model.weights if tuple(v.shape) == (config.vocab_size, 32)]
    assert vocab_sized == ["bert/embeddings/word_embeddings"]
    # Logits at masked positions equal the head applied to every position, then gathered.
    seq = to_numpy(model.backbone(x)["sequence_output"])
    every = to_numpy(
        model.mlm_head(seq, np.tile(np.arange(12), (3, 1)), model.backbone.word_embeddings)
    )
    gathered = every[np.arange(3)[:, None], x["masked_positions"]]
    np.testing.assert_allclose(to_numpy(out["mlm_logits"]), gathered, atol=1e-5)
    # Changing the tied matrix changes the logits.
    model.backbone.word_embeddings.assign(to_numpy(model.backbone.word_embeddings) * 2)
    assert np.abs(to_numpy(model(x)["mlm_logits"]) - to_numpy(out["mlm_logits"])).max() > 1e-3


def test_pretrainer_trains_and_updates_tied_embeddings():
    config = tiny_config(num_layers=1)
    model = BertPretrainer(config)
    x = _with_positions(bert_inputs(batch=4, seed=3), positions=[(1, 2), (0, 3), (4, 1), (2, 2)])
    y = {
        "mlm_logits": np.array([[5, 6], [7, 8], [9, 10], [11, 11]], "int32"),
        "nsp_logits": np.array([0, 1, 0, 1], "int32"),
    }
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        jit_compile=False,
        loss={
            "mlm_logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            "nsp_logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        },
    )
    before = to_numpy(model.backbone.word_embeddings).copy()
    history = model.fit(x, y, epochs=4, batch_size=4, verbose=0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    after = to_numpy(model.backbone.word_embeddings)
    # rows 5..11 are only ever used as MLM targets: they learn through the tied projection
    assert np.abs(after[5:12] - before[5:12]).max() > 0
    assert model.backbone.config is config


def test_classifier_for_single_sentences_and_pairs():
    backbone = BertModel(tiny_config())
    model = BertClassifier(backbone, num_classes=3)
    x = bert_inputs()
    logits = to_numpy(model(x))
    assert logits.shape == (3, 3)
    swapped = {**x, "segment_ids": 1 - x["segment_ids"]}
    assert np.abs(to_numpy(model(swapped)) - logits).max() > 1e-4  # segments matter for pairs
    assert model.backbone is backbone


def test_token_classifier_shapes():
    model = BertTokenClassifier(BertModel(tiny_config()), num_labels=5)
    assert tuple(model(bert_inputs()).shape) == (3, 12, 5)


def test_span_qa_masks_padding_and_decodes_a_valid_span():
    model = BertSpanQA(BertModel(tiny_config()))
    x = bert_inputs()
    out = model(x)
    start, end = to_numpy(out["start_logits"]), to_numpy(out["end_logits"])
    assert start.shape == end.shape == (3, 12)
    assert (start[2, 6:] < -1e8).all() and (end[2, 6:] < -1e8).all()
    s, e, _ = (to_numpy(t) for t in model.decode(out, max_answer_length=3))
    assert ((e >= s) & (e - s < 3) & (e < x["padding_mask"].sum(1))).all()


def _brute_force_best_span(start, end, max_len, allowed):
    best = (-np.inf, 0, 0)
    for i, j in itertools.product(range(len(start)), repeat=2):
        if i <= j < i + max_len and allowed[i] and allowed[j]:
            best = max(best, (start[i] + end[j], -i, -j))
    return -best[1], -best[2], best[0]


@pytest.mark.parametrize("max_len", [1, 3, 30])
def test_decode_best_span_matches_brute_force(max_len):
    rng = np.random.default_rng(max_len)
    start = rng.normal(size=(5, 9)).astype("float32")
    end = rng.normal(size=(5, 9)).astype("float32")
    context = (rng.random((5, 9)) > 0.3).astype("int32")
    context[:, 4] = 1
    s, e, score = (to_numpy(t) for t in decode_best_span(start, end, max_len, context))
    for b in range(5):
        bs, be, bscore = _brute_force_best_span(start[b], end[b], max_len, context[b])
        assert (s[b], e[b]) == (bs, be)
        np.testing.assert_allclose(score[b], bscore, rtol=1e-6)
    # Without constraints the best span would often be invalid (end before start).
    s_free, e_free = start.argmax(1), end.argmax(1)
    assert ((e_free < s_free) | (e_free - s_free >= max_len)).any() or max_len == 30


def _round_trip(model, x, path):
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    return loaded


@pytest.mark.parametrize("kind", ["bert", "pretrainer", "classifier", "token", "span"])
def test_keras_file_round_trip_in_safe_mode(kind, tmp_path):
    config = tiny_config(activation="gelu_exact", layer_norm_epsilon=1e-7)
    x = bert_inputs()
    model = {
        "bert": lambda: BertModel(config, output_hidden_states=True),
        "pretrainer": lambda: BertPretrainer(config),
        "classifier": lambda: BertClassifier(BertModel(config), num_classes=4, dropout=0.2),
        "token": lambda: BertTokenClassifier(BertModel(config), num_labels=3),
        "span": lambda: BertSpanQA(BertModel(config)),
    }[kind]()
    if kind == "pretrainer":
        x = _with_positions(x)
    out = model(x)
    loaded = _round_trip(model, x, str(tmp_path / "model.keras"))
    out2 = loaded(x)
    flat, flat2 = keras.tree.flatten(out), keras.tree.flatten(out2)
    assert len(flat) == len(flat2)
    for a, b in zip(flat, flat2, strict=True):
        np.testing.assert_allclose(to_numpy(b), to_numpy(a), atol=1e-6)
    backbone = loaded if kind == "bert" else loaded.backbone
    assert backbone.config == config


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_forward_pass(policy):
    config = tiny_config(num_layers=1)
    x = _with_positions(bert_inputs())
    reference = BertPretrainer(config)
    expected = reference(x)
    model = BertPretrainer(config, dtype=policy)
    model.build()
    model.set_weights(reference.get_weights())
    assert model.backbone.word_embeddings.dtype == "float32"  # variables stay float32
    out = model(x)
    compute = policy.removeprefix("mixed_")
    assert keras.backend.standardize_dtype(out["mlm_logits"].dtype) == compute
    seq = model.backbone(x)["sequence_output"]
    assert keras.backend.standardize_dtype(seq.dtype) == compute
    for key in ("mlm_logits", "nsp_logits"):
        got = to_numpy(keras.ops.cast(out[key], "float32"))
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, to_numpy(expected[key]), atol=0.15)
    # the global policy reaches every layer the same way
    keras.config.set_dtype_policy(policy)
    try:
        bert = BertModel(config)
        assert {layer.dtype_policy.name for layer in bert._flatten_layers()} == {policy}
        assert bert.word_embeddings.dtype == "float32"
    finally:
        keras.config.set_dtype_policy("float32")
