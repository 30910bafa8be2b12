"""The pretraining losses: our one-hot-free cross-entropy equals Keras' in value and gradient."""

import numpy as np
import pytest

pytestmark = pytest.mark.multibackend


def _batch(vocab=1000, seed=0):
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((4, 5, vocab)) * 3).astype("float32")
    labels = rng.integers(0, vocab, (4, 5)).astype("int32")
    weights = (rng.random((4, 5)) > 0.3).astype("float32")
    weights[0] = 0  # a sequence with no real prediction
    return logits, labels, weights


def _value_and_grad(loss_fn, logits, labels, weights):
    import keras
    from keras import ops

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(logits)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = loss_fn(labels, x, sample_weight=weights)
        return float(value), tape.gradient(value, x).numpy()
    import jax

    value, grad = jax.value_and_grad(lambda x: loss_fn(labels, x, sample_weight=weights))(
        ops.convert_to_tensor(logits))
    return float(value), np.asarray(grad)


@pytest.mark.parametrize("reduction", ["mean_with_sample_weight", "sum_over_batch_size"])
def test_sparse_softmax_cross_entropy_matches_keras(reduction):
    import keras

    from bert_tf.train.losses import SparseSoftmaxCrossEntropy

    logits, labels, weights = _batch()
    ours = _value_and_grad(SparseSoftmaxCrossEntropy(reduction=reduction), logits, labels, weights)
    ref = _value_and_grad(keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, reduction=reduction), logits, labels, weights)
    assert ours[0] == pytest.approx(ref[0], rel=1e-6)
    np.testing.assert_allclose(ours[1], ref[1], atol=1e-7)


def test_sparse_softmax_cross_entropy_is_stable_for_large_logits():
    from keras import ops

    from bert_tf.train.losses import sparse_softmax_cross_entropy

    logits = np.array([[1e4, 0.0, -1e4], [50.0, 60.0, 70.0]], "float32")
    ce = ops.convert_to_numpy(sparse_softmax_cross_entropy(np.array([0, 0]), logits))
    assert np.all(np.isfinite(ce))
    np.testing.assert_allclose(ce, [0.0, 20.0 + np.log1p(np.exp(-10) + np.exp(-20))], rtol=1e-6)


def test_masked_lm_loss_ignores_padding_predictions():
    from keras import ops

    from bert_tf.train.losses import masked_lm_loss, sparse_softmax_cross_entropy

    logits, labels, weights = _batch()
    per_position = ops.convert_to_numpy(sparse_softmax_cross_entropy(labels, logits))
    expected = (per_position * weights).sum() / weights.sum()
    got = float(masked_lm_loss(labels, logits, weights))
    assert got == pytest.approx(expected, rel=1e-5)
    labels_changed = labels.copy()
    labels_changed[weights == 0] = 7  # labels under weight 0 cannot matter
    assert float(masked_lm_loss(labels_changed, logits, weights)) == pytest.approx(got, rel=1e-6)


def test_loss_round_trips_through_keras_serialization():
    import keras

    from bert_tf.train.losses import SparseSoftmaxCrossEntropy

    loss = SparseSoftmaxCrossEntropy(reduction="mean_with_sample_weight")
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(again, SparseSoftmaxCrossEntropy)
    assert again.reduction == "mean_with_sample_weight"
