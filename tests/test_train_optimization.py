"""BERT optimizer: schedule, weight-decay exclusions, LAMB, clipping, gradient accumulation."""

import numpy as np
import pytest

pytestmark = pytest.mark.multibackend


def _tiny_model(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((5,))
    h = keras.layers.Dense(8, activation="tanh", name="hidden")(inp)
    h = keras.layers.LayerNormalization(name="ln")(h)
    out = keras.layers.Dense(3, name="head")(h)
    return keras.Model(inp, out)


def test_schedule_warmup_then_linear_decay():
    from bert_tf.train.optimization import BertSchedule

    s = BertSchedule(1e-3, total_steps=100, warmup_steps=10)
    lr = [float(s(i)) for i in range(101)]
    # Linear warmup: step i uses peak*(i+1)/warmup, reaching the peak at the end of warmup.
    np.testing.assert_allclose(lr[0], 1e-4, rtol=1e-5)
    np.testing.assert_allclose(lr[4], 5e-4, rtol=1e-5)
    np.testing.assert_allclose(lr[10], 1e-3, rtol=1e-5)
    # Linear decay to zero at the last step.
    np.testing.assert_allclose(lr[55], 0.5e-3, rtol=1e-5)
    assert lr[100] == pytest.approx(0.0, abs=1e-9)
    assert all(a >= b for a, b in zip(lr[10:], lr[11:], strict=False))
    # Counts updates, not micro-batches, under gradient accumulation.
    acc = BertSchedule(1e-3, total_steps=100, warmup_steps=10, accumulation_steps=4)
    assert float(acc(4 * 55 + 3)) == pytest.approx(lr[55], rel=1e-5)
    round_trip = BertSchedule(**s.get_config())
    assert float(round_trip(37)) == pytest.approx(lr[37])


def test_schedule_rejects_bad_arguments():
    from bert_tf.train.optimization import BertSchedule

    with pytest.raises(ValueError, match="warmup_steps"):
        BertSchedule(1e-3, total_steps=10, warmup_steps=11)
    with pytest.raises(ValueError, match="total_steps"):
        BertSchedule(1e-3, total_steps=0)


@pytest.mark.parametrize("name", ["adamw", "lamb"])
def test_weight_decay_skips_layernorm_and_bias(name):
    import keras

    from bert_tf.train.optimization import create_optimizer, no_decay_variables

    model = _tiny_model()
    excluded = {v.path for v in no_decay_variables(model)}
    assert excluded == {"hidden/bias", "ln/gamma", "ln/beta", "head/bias"}
    # Make biases/betas non-zero so "unchanged" is meaningful.
    for v in model.trainable_variables:
        v.assign(np.full(v.shape, 0.5, "float32") + np.asarray(v.value) * 0)
    opt = create_optimizer(
        model, learning_rate=0.1, total_steps=10, optimizer=name, weight_decay=0.01
    )
    before = {v.path: np.asarray(v.value).copy() for v in model.trainable_variables}
    zeros = [keras.ops.zeros(v.shape) for v in model.trainable_variables]
    opt.apply(zeros, model.trainable_variables)
    lr0 = 0.1  # warmup 0 → peak at step 0
    for v in model.trainable_variables:
        after = np.asarray(v.value)
        if v.path in excluded:
            np.testing.assert_array_equal(after, before[v.path], err_msg=v.path)
        else:
            # AdamW: w -= lr*wd*w. LAMB: update = wd*w, trust ratio |w|/|wd*w| → w -= lr*w.
            factor = 1 - lr0 * 0.01 if name == "adamw" else 1 - lr0
            np.testing.assert_allclose(after, before[v.path] * factor, rtol=1e-5, err_msg=v.path)


def test_global_norm_clipping_is_one_by_default():
    from bert_tf.train.optimization import create_optimizer

    opt = create_optimizer(_tiny_model(), learning_rate=1e-3, total_steps=10)
    assert opt.global_clipnorm == 1.0
    clipped = opt._clip_gradients([np.full((4,), 10.0, "float32"), np.full((3,), -10.0, "float32")])
    norm = np.sqrt(sum(float(np.sum(np.square(np.asarray(g)))) for g in clipped))
    assert norm == pytest.approx(1.0, rel=1e-4)


def test_gradient_accumulation_matches_the_large_batch():
    """Two accumulated micro-batches of 8 make the same update as one batch of 16."""
    import keras

    from bert_tf.train.optimization import create_optimizer

    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 5)).astype("float32")
    y = rng.integers(0, 3, 16)

    def train(accumulation, batch):
        model = _tiny_model(seed=3)
        opt = create_optimizer(
            model,
            learning_rate=1e-2,
            total_steps=4,
            warmup_steps=1,
            accumulation_steps=accumulation,
        )
        model.compile(
            optimizer=opt, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        )
        model.fit(x, y, batch_size=batch, epochs=2, shuffle=False, verbose=0)
        return model, opt

    big, big_opt = train(1, 16)
    small, small_opt = train(2, 8)
    assert int(big_opt.iterations) == int(small_opt.iterations) == 2
    for a, b in zip(big.trainable_variables, small.trainable_variables, strict=True):
        np.testing.assert_allclose(
            np.asarray(a.value), np.asarray(b.value), atol=2e-6, err_msg=a.path
        )


def test_repeated_embedding_rows_update_like_the_dense_gradient():
    """Gathering a row several times in a batch gives an IndexedSlices gradient with repeated
    indices (BERT's segment embeddings: 2 rows, batch x sequence lookups). Keras 3.15's TF
    optimizers applied each repeat separately, so Adam's moments and the clipping norm were
    wrong; the update must equal the one for the same gradient as a dense tensor."""
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("IndexedSlices gradients exist only on TensorFlow")
    import tensorflow as tf

    from bert_tf.train.optimization import BertAdamW, BertLamb

    repeated = tf.IndexedSlices(tf.constant([[1.0, 1, 1], [1, 1, 1], [2, 2, 2]]),
                                tf.constant([0, 0, 1]), tf.constant([2, 3]))
    for cls in (BertAdamW, BertLamb):
        results = []
        for grad in (repeated, tf.convert_to_tensor(repeated)):
            v = keras.Variable(np.full((2, 3), 0.5, "float32"))
            opt = cls(learning_rate=0.1, global_clipnorm=1.0)
            for _ in range(3):
                opt.apply([grad], [v])
            results.append(np.asarray(v.value))
        np.testing.assert_allclose(results[0], results[1], rtol=1e-6, err_msg=cls.__name__)


def test_lamb_trains_a_small_classifier():
    import keras

    from bert_tf.train.optimization import BertLamb, create_optimizer

    rng = np.random.default_rng(1)
    x = rng.normal(size=(256, 5)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32") + (x[:, 2] > 1).astype("int32")
    model = _tiny_model()
    opt = create_optimizer(
        model, learning_rate=5e-2, total_steps=80, warmup_steps=8, optimizer="lamb"
    )
    assert isinstance(opt, BertLamb)
    model.compile(
        optimizer=opt,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    hist = model.fit(x, y, batch_size=32, epochs=10, verbose=0).history
    assert hist["loss"][-1] < 0.6 * hist["loss"][0]
    assert hist["accuracy"][-1] > 0.8


def test_unknown_optimizer_is_rejected():
    from bert_tf.train.optimization import create_optimizer

    with pytest.raises(ValueError, match="unknown optimizer 'sgd'"):
        create_optimizer(_tiny_model(), learning_rate=1e-3, total_steps=10, optimizer="sgd")
