"""bert_tf.models.seq2seq and its layers: cross-attention, causal decoding, padding on both
sides, tied embeddings, teacher forcing, greedy decoding that stops at [eos], saving."""

import keras
import numpy as np
import pytest
from bert_helpers import input_gradient, to_numpy
from keras import ops

from bert_tf.layers import CrossAttention, DecoderBlock
from bert_tf.models.seq2seq import Seq2SeqConfig, Seq2SeqModel, seq2seq_batch

pytestmark = pytest.mark.multibackend

H, HEADS, FF = 32, 4, 64
V, PAD, START, EOS = 17, 0, 1, 2


def tiny(**overrides):
    values = dict(vocab_size=V, max_length=16, hidden_size=H, num_encoder_layers=2,
                  num_decoder_layers=2, num_heads=HEADS, intermediate_size=FF, dropout=0.0,
                  attention_dropout=0.0, pad_id=PAD, start_id=START, eos_id=EOS)
    values.update(overrides)
    return Seq2SeqConfig(**values)


def _batch(lengths, seq, seed):
    """Random real ids (never pad/start/eos) with `pad_id` after `lengths[i]` tokens."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(3, V, (len(lengths), seq)).astype("int32")
    ids[np.arange(seq)[None, :] >= np.array(lengths)[:, None]] = PAD
    return ids


def _inputs(seed=0):
    source = _batch([9, 5, 7], 9, seed)
    target = _batch([7, 7, 4], 7, seed + 1)
    target[:, 0] = START
    return {"source_ids": source, "target_ids": target}


def _reference_cross_attention(layer, x, context, context_mask):
    def dense(d, t):
        return t @ to_numpy(d.kernel) + to_numpy(d.bias)

    (b, t, _), s, d = x.shape, context.shape[1], H // HEADS
    q = dense(layer.query, x).reshape(b, t, HEADS, d)
    k, v = (dense(lyr, context).reshape(b, s, HEADS, d) for lyr in (layer.key, layer.value))
    scores = np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(d)
    scores = np.where(context_mask.astype(bool)[:, None, None, :], scores, -1e30)
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    return dense(layer.output_dense, np.einsum("bnts,bsnh->btnh", probs, v).reshape(b, t, H))


# ---- layers ------------------------------------------------------------------------------------
def test_cross_attention_matches_numpy_reference_on_both_code_paths_and_round_trips():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, H)).astype("float32")  # 5 decoder positions
    context = rng.normal(size=(2, 8, H)).astype("float32")  # 8 source positions
    context_mask = (np.arange(8)[None, :] < np.array([[8], [3]])).astype("int32")
    layer = CrossAttention(H, HEADS, attention_dropout=0.0)
    out = to_numpy(layer(x, context, context_mask))
    assert out.shape == (2, 5, H)
    np.testing.assert_allclose(out, _reference_cross_attention(layer, x, context, context_mask),
                               atol=1e-5)
    probs = to_numpy(layer.attention_probabilities(x, context, context_mask))
    assert probs.shape == (2, HEADS, 5, 8)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)
    assert probs[1, :, :, 3:].max() == 0.0  # row 1 has 3 real source positions
    layer.attention_dropout = 1e-9  # the hand-written dropout path (its Dropout has rate 0)
    np.testing.assert_allclose(to_numpy(layer(x, context, context_mask, training=True)), out,
                               atol=1e-5)
    clone = CrossAttention.from_config(layer.get_config())
    clone(x, context, context_mask)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(to_numpy(clone(x, context, context_mask)), out, atol=1e-6)
    assert "causal" not in layer.get_config()
    with pytest.raises(ValueError, match="cannot be causal"):
        CrossAttention(H, HEADS, causal=True)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_block_is_causal_and_reads_only_real_source_positions(norm_first):
    block = DecoderBlock(H, HEADS, FF, dropout=0.0, attention_dropout=0.0, norm_first=norm_first)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 6, H)).astype("float32")
    context = rng.normal(size=(2, 7, H)).astype("float32")
    context_mask = (np.arange(7)[None, :] < np.array([[7], [4]])).astype("int32")
    out = to_numpy(block(x, context, context_mask=context_mask))
    assert out.shape == (2, 6, H)

    t = 2
    future = x.copy()
    future[:, t + 1:] = rng.normal(size=future[:, t + 1:].shape)
    changed = to_numpy(block(future, context, context_mask=context_mask))
    np.testing.assert_allclose(changed[:, :t + 1], out[:, :t + 1], atol=1e-5)
    assert np.abs(changed[:, t + 1:] - out[:, t + 1:]).max() > 1e-3

    padded = context.copy()
    padded[1, 4:] = rng.normal(size=(3, H)) * 5  # only row 1's padding changes
    np.testing.assert_allclose(to_numpy(block(x, padded, context_mask=context_mask)), out,
                               atol=1e-5)
    real = context.copy()
    real[1, 0] += 1.0  # a real source position: every decoder position reads it
    moved = to_numpy(block(x, real, context_mask=context_mask))
    assert np.abs(moved[1] - out[1]).max(-1).min() > 1e-4

    config = block.get_config()
    assert "causal" not in config and config["norm_first"] == norm_first
    assert {w.path.split("/")[1] for w in block.weights} >= {
        "attention", "attention_norm", "cross_attention", "cross_attention_norm",
        "feed_forward", "output_norm"}


def test_decoder_block_refuses_to_be_non_causal():
    with pytest.raises(ValueError, match="causal"):
        DecoderBlock(H, HEADS, FF, causal=False)


# ---- the model ---------------------------------------------------------------------------------
def test_config_checks_heads_and_special_ids():
    with pytest.raises(ValueError, match="multiple of"):
        tiny(hidden_size=30)
    with pytest.raises(ValueError, match="eos_id"):
        tiny(eos_id=V)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_position_t_cannot_see_later_target_tokens(norm_first):
    model = Seq2SeqModel(tiny(norm_first=norm_first))
    x = _inputs()
    logits = to_numpy(model(x))
    assert logits.shape == (3, 7, V)
    for t in (0, 3, 5):
        changed = {**x, "target_ids": x["target_ids"].copy()}
        changed["target_ids"][:, t + 1:] = (changed["target_ids"][:, t + 1:] + 5) % (V - 3) + 3
        after = to_numpy(model(changed))
        np.testing.assert_allclose(after[:, :t + 1], logits[:, :t + 1], atol=1e-5)
        assert np.abs(after[:, t + 1:] - logits[:, t + 1:]).max() > 1e-4


def test_source_padding_cannot_leak_into_any_output():
    model = Seq2SeqModel(tiny())
    x = _inputs()
    logits = to_numpy(model(x))
    mask = x["source_ids"] != PAD
    # What sits under the padding no longer matters once the mask says it is padding.
    noisy = x["source_ids"].copy()
    noisy[~mask] = np.random.default_rng(5).integers(3, V, (~mask).sum())
    explicit = to_numpy(model({**x, "source_ids": noisy, "source_mask": mask}))
    np.testing.assert_allclose(explicit, logits, atol=1e-5)
    # Gradient view: no output depends on the embeddings of padded source positions.
    encoded_input = to_numpy(model.embeddings(x["source_ids"], np.zeros_like(x["source_ids"])))

    def total(embedded):
        h = embedded
        for layer in model.encoder_layers:
            h = layer(h, padding_mask=mask)
        out = model.decode(x["target_ids"], h, mask)
        return ops.sum(model.logits(out) * np.linspace(-1, 1, V, dtype="float32"))

    grad = input_gradient(total, encoded_input)
    assert np.abs(grad[~mask]).max() == 0.0
    assert np.abs(grad[mask]).sum(-1).min() > 0.0


def test_target_padding_mask_hides_padded_decoder_positions():
    model = Seq2SeqModel(tiny())
    x = _inputs()
    x["target_ids"][:, 2] = PAD  # a "hole" in the decoder input: masked by default
    logits = to_numpy(model(x))
    other = {**x, "target_ids": x["target_ids"].copy(),
             "target_mask": x["target_ids"] != PAD}
    other["target_ids"][:, 2] = 5  # a real id, but the mask still calls it padding
    np.testing.assert_allclose(to_numpy(model(other))[:, 3:], logits[:, 3:], atol=1e-5)
    unmasked = to_numpy(model({**x, "target_ids": other["target_ids"]}))
    assert np.abs(unmasked[:, 3:] - logits[:, 3:]).max() > 1e-4  # without the mask it is seen


def test_start_token_is_real_even_when_it_is_the_pad_id():
    model = Seq2SeqModel(tiny(start_id=PAD))  # T5 starts the decoder with its pad token
    x = _inputs()
    x["target_ids"][:, 0] = PAD
    assert np.all(np.isfinite(to_numpy(model(x))))


def test_cross_attention_makes_the_output_depend_on_the_source():
    model = Seq2SeqModel(tiny())
    x = _inputs()
    logits = to_numpy(model(x))
    other = {**x, "source_ids": x["source_ids"].copy()}
    other["source_ids"][0, 0] = 3 if other["source_ids"][0, 0] != 3 else 4
    moved = np.abs(to_numpy(model(other))[0] - logits[0]).max(-1)
    assert moved.min() > 1e-4  # every decoder position of that row sees the change
    np.testing.assert_allclose(to_numpy(model(other))[1:], logits[1:], atol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
def test_cross_attention_maps_are_the_weights_the_decoder_uses(norm_first):
    model = Seq2SeqModel(tiny(norm_first=norm_first))
    x = _inputs()
    maps = [to_numpy(m) for m in model.cross_attention_maps(x["source_ids"], x["target_ids"])]
    assert len(maps) == 2 and maps[0].shape == (3, HEADS, 7, 9)
    np.testing.assert_allclose(maps[1].sum(-1), 1.0, atol=1e-5)
    assert maps[0][1, :, :, 5:].max() == 0.0  # row 1 has 5 real source tokens
    # The first layer's map, recomputed from its own sub-layers by hand.
    layer = model.decoder_layers[0]
    source_mask = x["source_ids"] != PAD
    encoded = model.encode(x["source_ids"], source_mask)
    h = model._embed_target(x["target_ids"])
    target_mask = x["target_ids"] != PAD
    if norm_first:
        h = layer.cross_attention_norm(h + layer.attention(layer.attention_norm(h), target_mask))
    else:
        h = layer.attention_norm(h + layer.attention(h, target_mask))
    q, k, _ = layer.cross_attention._project(h, encoded)
    scores = to_numpy(ops.einsum("btnh,bsnh->bnts", q, k)) / np.sqrt(H // HEADS)
    scores = np.where(source_mask[:, None, None, :], scores, -np.inf)
    want = np.exp(scores - scores.max(-1, keepdims=True))
    np.testing.assert_allclose(maps[0], want / want.sum(-1, keepdims=True), atol=1e-5)


def test_one_word_table_is_shared_by_encoder_decoder_and_output():
    model = Seq2SeqModel(tiny())
    x = _inputs()
    source_mask = x["source_ids"] != PAD
    hidden = model.decode(x["target_ids"], model.encode(x["source_ids"], source_mask),
                          source_mask)
    table = to_numpy(model.word_embeddings)
    np.testing.assert_allclose(to_numpy(model(x)), to_numpy(hidden) @ table.T, atol=1e-4)
    vocab_tables = [w for w in model.weights if w.shape[0] == V]
    assert len(vocab_tables) == 1


def test_seq2seq_batch_shifts_the_target_right_and_always_ends_with_eos():
    config = tiny()
    x, y, w = seq2seq_batch([[5, 6, 7], [8]], [[9, 10], [11, 12, 13, 14, 15, 16]], config,
                            max_source_length=2, max_target_length=4)
    np.testing.assert_array_equal(x["source_ids"], [[5, 6], [8, PAD]])
    np.testing.assert_array_equal(x["target_ids"], [[START, 9, 10, PAD], [START, 11, 12, 13]])
    np.testing.assert_array_equal(y, [[9, 10, EOS, PAD], [11, 12, 13, EOS]])
    np.testing.assert_array_equal(w, [[1, 1, 1, 0], [1, 1, 1, 1]])
    with pytest.raises(ValueError, match="2 sources but 1 targets"):
        seq2seq_batch([[1], [2]], [[3]], config, 2, 2)


def test_generate_is_greedy_and_stops_at_eos():
    model = Seq2SeqModel(tiny())
    source = _inputs()["source_ids"]
    free = model.generate(source, max_new_tokens=10)  # [eos] = 2 is never written: ids >= 3
    assert free.shape == (3, 10)
    # Greedy: each token is the argmax of the model given the source and the tokens before it.
    target_in = np.concatenate([np.full((3, 1), START), free[:, :-1]], axis=1)
    logits = to_numpy(model({"source_ids": source, "target_ids": target_in}))
    np.testing.assert_array_equal(logits.argmax(-1), free)

    # Now call one of the tokens it writes [eos] (same weights): each row must stop at its
    # first [eos] (kept, then padding), and decoding must end when every row has stopped.
    def ends(eos):
        return [list(row).index(eos) + 1 if eos in row else 10 for row in free]

    eos = min(set(free.ravel().tolist()), key=lambda t: max(ends(t)))
    stopping = Seq2SeqModel(tiny(eos_id=eos))
    stopping.set_weights(model.get_weights())
    out = stopping.generate(source, max_new_tokens=10)
    expected = free.copy()
    for row, end in zip(expected, ends(eos), strict=True):
        row[end:] = PAD
    np.testing.assert_array_equal(out, expected[:, :max(ends(eos))])
    with pytest.raises(ValueError, match="max_new_tokens"):
        model.generate(source, max_new_tokens=17)


def test_reversing_short_sequences_is_learned_and_decoding_stops_at_eos():
    keras.utils.set_random_seed(0)
    # initializer_range ~ 1/sqrt(hidden): BERT's 0.02 is sized for 768-wide layers, and a
    # 32-wide model starting that small takes many times longer to find the alignment.
    config = tiny(vocab_size=12, hidden_size=32, num_heads=2, intermediate_size=64,
                  num_encoder_layers=1, num_decoder_layers=1, norm_first=True,
                  initializer_range=0.2)
    rng = np.random.default_rng(0)
    sources = [rng.integers(3, 12, rng.integers(1, 7)).tolist() for _ in range(500 * 32)]
    x, y, w = seq2seq_batch(sources, [s[::-1] for s in sources], config, 8, 8)
    model = Seq2SeqModel(config)
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, sample_weight=w, batch_size=32, epochs=1, verbose=0)

    tests = [rng.integers(3, 12, rng.integers(1, 7)).tolist() for _ in range(100)]
    tx, _, _ = seq2seq_batch(tests, tests, config, 8, 8)
    out = model.generate(tx["source_ids"], max_new_tokens=8)
    assert out.shape[1] <= 7  # at most 6 tokens + [eos]: decoding stopped, not cut at 8
    written = [list(r[:list(r).index(EOS)]) if EOS in r else None for r in out]
    exact = np.mean([got == t[::-1] for got, t in zip(written, tests, strict=True)])
    assert exact >= 0.9, f"only {exact:.0%} of sequences reversed exactly"


def test_keras_file_round_trip_in_safe_mode(tmp_path):
    config = tiny(norm_first=True, activation="gelu_exact", dropout=0.1)
    model = Seq2SeqModel(config)
    x = _inputs()
    path = str(tmp_path / "seq2seq.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is Seq2SeqModel and loaded.config == config
    np.testing.assert_allclose(to_numpy(loaded(x)), to_numpy(model(x)), atol=1e-6)
    np.testing.assert_array_equal(loaded.generate(x["source_ids"], 5),
                                  model.generate(x["source_ids"], 5))
