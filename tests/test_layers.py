"""bert_tf.layers: shapes, exact maths, masking (padding and causal), serialisation."""

import numpy as np
import pytest
from bert_helpers import input_gradient, to_numpy
from keras import ops

from bert_tf.layers import (
    BertEmbeddings,
    Dropout,
    FeedForward,
    MaskedLMHead,
    Pooler,
    ScalarMix,
    SelfAttention,
    TransformerBlock,
)

pytestmark = pytest.mark.multibackend

H, HEADS, FF = 32, 4, 64  # the shapes of tests/bert_helpers.tiny_config (JAX compiles once)


def _x(batch=3, seq=12, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, seq, H)).astype("float32")


def _mask(lengths, seq=12):
    return (np.arange(seq)[None, :] < np.array(lengths)[:, None]).astype("int32")


def _copy(layer, *args, **kwargs):
    """A layer rebuilt from its config (the way Keras loads it) with the same weights."""
    clone = layer.__class__.from_config(layer.get_config())
    clone(*args, **kwargs)
    clone.set_weights(layer.get_weights())
    return clone


def test_embeddings_sum_three_tables_then_layer_norm():
    layer = BertEmbeddings(
        vocab_size=11, hidden_size=H, max_position_embeddings=9, dropout=0.0, name="embeddings"
    )
    ids = np.array([[1, 2, 3, 0]], "int32")
    seg = np.array([[0, 0, 1, 1]], "int32")
    out = to_numpy(layer(ids, seg))
    w, p, s = (
        to_numpy(v)
        for v in (layer.word_embeddings, layer.position_embeddings, layer.segment_embeddings)
    )
    summed = w[ids[0]] + p[:4] + s[seg[0]]
    expected = (summed - summed.mean(-1, keepdims=True)) / np.sqrt(
        summed.var(-1, keepdims=True) + 1e-12
    )
    np.testing.assert_allclose(out[0], expected, atol=1e-5)
    assert [v.path for v in layer.weights][:3] == [
        "embeddings/word_embeddings",
        "embeddings/position_embeddings",
        "embeddings/segment_embeddings",
    ]
    np.testing.assert_allclose(to_numpy(_copy(layer, ids, seg)(ids, seg)), out, atol=1e-6)


def _reference_attention(layer, x, mask, causal=False):
    """Plain numpy multi-head attention with the layer's weights."""

    def dense(d, t):
        return t @ to_numpy(d.kernel) + to_numpy(d.bias)

    b, s, _ = x.shape
    d = H // HEADS
    q, k, v = (
        dense(lyr, x).reshape(b, s, HEADS, d) for lyr in (layer.query, layer.key, layer.value)
    )
    scores = np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(d)
    allowed = np.ones((b, 1, s, s), bool) if mask is None else mask.astype(bool)[:, None, None, :]
    if causal:
        allowed = allowed & np.tril(np.ones((s, s), bool))
    scores = np.where(allowed, scores, -1e30)
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    out = np.einsum("bnts,bsnh->btnh", probs, v).reshape(b, s, H)
    return dense(layer.output_dense, out)


@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_matches_numpy_reference_on_both_code_paths(causal):
    layer = SelfAttention(H, HEADS, attention_dropout=0.5, causal=causal)
    x, mask = _x(), _mask([12, 4, 9])
    fused = to_numpy(layer(x, mask))  # inference: keras.ops.dot_product_attention
    np.testing.assert_allclose(fused, _reference_attention(layer, x, mask, causal), atol=1e-5)
    # The hand-written path used for attention dropout, with dropout switched off.
    q, k, v = (layer._split_heads(lyr(x)) for lyr in (layer.query, layer.key, layer.value))
    manual = layer._attention_with_dropout(
        q, k, v, ops.cast(mask, "bool")[:, None, None, :], training=False
    )
    manual = to_numpy(layer.output_dense(ops.reshape(manual, (3, 12, H))))
    np.testing.assert_allclose(manual, fused, atol=1e-5)
    np.testing.assert_allclose(to_numpy(_copy(layer, x, mask)(x, mask)), fused, atol=1e-6)


@pytest.mark.parametrize("training", [False, True])
def test_padding_cannot_influence_real_positions(training):
    block = TransformerBlock(H, HEADS, FF, dropout=0.0, attention_dropout=0.0)
    if training:  # also cover the dropout code path (rate > 0, but inputs compared exactly)
        block.attention.attention_dropout = 1e-9
    x, mask = _x(), _mask([12, 4, 9])
    out = to_numpy(block(x, padding_mask=mask, training=training))
    noisy = x.copy()
    noisy[1, 4:] = np.random.default_rng(9).normal(size=(8, H)) * 5  # only padding changes
    out2 = to_numpy(block(noisy, padding_mask=mask, training=training))
    np.testing.assert_allclose(out2[1, :4], out[1, :4], atol=1e-5)
    assert np.abs(out2[1, 4:] - out[1, 4:]).max() > 1e-2  # padded rows themselves do change

    # Gradient view: real outputs do not depend on padded inputs at all.
    weights = np.random.default_rng(1).normal(size=(4, H)).astype("float32")

    def real_outputs(inputs):
        y = block(inputs, padding_mask=mask, training=training)
        return ops.sum(y[1, :4] * weights)

    grad = input_gradient(real_outputs, x)
    assert np.abs(grad[1, 4:]).max() == 0.0
    assert np.abs(grad[1, :4]).max() > 0.0


@pytest.mark.parametrize("norm_first", [False, True])
def test_causal_block_ignores_the_future(norm_first):
    block = TransformerBlock(
        H, HEADS, 32, dropout=0.0, attention_dropout=0.0, causal=True, norm_first=norm_first
    )
    x = _x()
    out = to_numpy(block(x))
    changed = x.copy()
    changed[:, 4:] = np.random.default_rng(5).normal(size=changed[:, 4:].shape)
    np.testing.assert_allclose(to_numpy(block(changed))[:, :4], out[:, :4], atol=1e-5)

    def position_3(inputs):
        return ops.sum(block(inputs)[:, 3])

    grad = input_gradient(position_3, x)
    assert np.abs(grad[:, 4:]).max() == 0.0 and np.abs(grad[:, :4]).max() > 0.0
    # Without the causal mask the future does matter.
    bidirectional = TransformerBlock.from_config({**block.get_config(), "causal": False})
    bidirectional(x)
    bidirectional.set_weights(block.get_weights())
    assert (
        np.abs(to_numpy(bidirectional(changed))[:, :4] - to_numpy(bidirectional(x))[:, :4]).max()
        > 1e-3
    )


def test_post_ln_block_ends_with_layer_norm():
    block = TransformerBlock(H, HEADS, FF, dropout=0.0, name="layer_0")
    out = to_numpy(block(_x()))
    np.testing.assert_allclose(out.mean(-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(-1), 1.0, atol=1e-3)
    names = [v.path for v in block.weights]
    assert "layer_0/attention/query/kernel" in names
    assert "layer_0/feed_forward/intermediate/kernel" in names
    assert "layer_0/output_norm/gamma" in names
    np.testing.assert_allclose(to_numpy(_copy(block, _x())(_x())), out, atol=1e-6)


@pytest.mark.parametrize(
    "activation, approximate", [("gelu_exact", False), ("gelu_approximate", True)]
)
def test_feed_forward_activation_is_the_named_gelu(activation, approximate):
    from math import erf, sqrt, tanh

    layer = FeedForward(H, FF, activation=activation)
    x = _x()
    out = to_numpy(layer(x))
    pre = x @ to_numpy(layer.intermediate.kernel) + to_numpy(layer.intermediate.bias)
    if approximate:
        act = np.vectorize(lambda v: 0.5 * v * (1 + tanh(sqrt(2 / np.pi) * (v + 0.044715 * v**3))))
    else:
        act = np.vectorize(lambda v: 0.5 * v * (1 + erf(v / sqrt(2))))
    expected = act(pre) @ to_numpy(layer.output_dense.kernel) + to_numpy(layer.output_dense.bias)
    np.testing.assert_allclose(out, expected, atol=1e-4)
    assert layer.get_config()["activation"] == activation


def test_pooler_reads_only_the_first_token():
    pooler = Pooler(H)
    x = _x()
    out = to_numpy(pooler(x))
    x2 = x.copy()
    x2[:, 1:] = 0.0
    np.testing.assert_allclose(to_numpy(pooler(x2)), out, atol=1e-6)
    expected = np.tanh(x[:, 0] @ to_numpy(pooler.dense.kernel) + to_numpy(pooler.dense.bias))
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_scalar_mix_is_softmax_weights_times_gamma():
    layers = [_x(seed=i) for i in range(3)]
    mix = ScalarMix()
    np.testing.assert_allclose(to_numpy(mix(layers)), np.mean(layers, axis=0), atol=1e-6)
    mix.scalar_weights.assign(np.array([0.5, -1.0, 2.0], "float32"))
    mix.gamma.assign(np.array(1.7, "float32"))
    w = np.exp([0.5, -1.0, 2.0])
    w /= w.sum()
    expected = 1.7 * sum(wi * li for wi, li in zip(w, layers, strict=True))
    np.testing.assert_allclose(to_numpy(mix(layers)), expected, atol=1e-5)
    assert sorted(v.name for v in mix.weights) == ["gamma", "scalar_weights"]
    np.testing.assert_allclose(to_numpy(_copy(mix, layers)(layers)), expected, atol=1e-5)


def test_masked_lm_head_scores_only_masked_positions_with_tied_embeddings():
    vocab = 97
    head = MaskedLMHead(vocab, H, layer_norm_epsilon=1e-12)
    head.build()
    head.output_bias.assign(np.arange(vocab, dtype="float32"))
    emb = np.random.default_rng(2).normal(size=(vocab, H)).astype("float32")
    x = _x()
    positions = np.array([[1, 3], [0, 2], [4, 4]], "int32")
    logits = to_numpy(head(x, positions, emb))
    assert logits.shape == (3, 2, vocab)
    h = x[np.arange(3)[:, None], positions] @ to_numpy(head.transform.kernel)
    h = h + to_numpy(head.transform.bias)
    h = 0.5 * h * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h**3)))
    h = (h - h.mean(-1, keepdims=True)) / np.sqrt(h.var(-1, keepdims=True) + 1e-12)
    np.testing.assert_allclose(logits, h @ emb.T + np.arange(vocab), atol=1e-4)


def test_dropout_keeps_1_minus_rate_scaled_and_draws_a_new_mask_each_call():
    import keras

    keras.utils.set_random_seed(7)
    layer = Dropout(0.25)
    x = np.ones((16, 64, 128), "float32")  # 131,072 elements: the keep rate is +/- 0.4%
    a, b = to_numpy(layer(x, training=True)), to_numpy(layer(x, training=True))
    assert np.array_equal(to_numpy(layer(x)), x)  # identity at inference
    assert set(np.unique(a)) == {0.0, np.float32(1 / 0.75)}
    for mask in (a != 0, b != 0):
        assert abs(mask.mean() - 0.75) < 0.005
    # Two calls are independent draws: P(same decision) = 0.75^2 + 0.25^2 = 0.625.
    assert abs(((a != 0) == (b != 0)).mean() - 0.625) < 0.005
    # Neighbouring elements are independent too (the bits come from a hash of the index).
    flat = (a != 0).reshape(-1).astype("float64")
    for lag in (1, 128, 64 * 128):
        assert abs(np.corrcoef(flat[:-lag], flat[lag:])[0, 1]) < 0.01
    # Seeded: the same global seed gives the same masks.
    keras.utils.set_random_seed(7)
    again = Dropout(0.25)
    assert np.array_equal(to_numpy(again(x, training=True)), a)


def test_dropout_rejects_a_rate_outside_0_1():
    with pytest.raises(ValueError, match="dropout rate"):
        Dropout(1.0)


def test_attention_probabilities_are_what_the_layer_applies():
    layer = SelfAttention(H, HEADS, attention_dropout=0.0)
    x, mask = _x(), _mask([12, 7, 3])
    out = to_numpy(layer(x, padding_mask=mask))
    probs = to_numpy(layer.attention_probabilities(x, padding_mask=mask))
    assert probs.shape == (3, HEADS, 12, 12)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
    assert np.all(probs[1, :, :, 7:] == 0) and np.all(probs[2, :, :, 3:] == 0)  # padded keys
    # Rebuilding the output from these weights and the value projection gives `call`'s output.
    v = to_numpy(layer.value(x)).reshape(3, 12, HEADS, H // HEADS)
    mixed = np.einsum("bnts,bsnh->btnh", probs, v).reshape(3, 12, H)
    expected = to_numpy(layer.output_dense(mixed))
    np.testing.assert_allclose(out, expected, atol=1e-5)
