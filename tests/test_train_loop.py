"""fit_steps: mixed precision (fp16 loss scaling, bf16) with checkpoint/resume; gradient accumulation."""

import numpy as np
import pytest

pytestmark = pytest.mark.multibackend


@pytest.fixture
def policy():
    import keras

    yield keras.mixed_precision
    keras.mixed_precision.set_global_policy("float32")


def _build(keras):
    from bert_tf.train import losses, optimization

    keras.utils.set_random_seed(0)
    tok = keras.Input((6,), dtype="int32")
    h = keras.layers.Embedding(30, 16)(tok)
    h = keras.layers.Dense(16, activation="gelu")(h)
    h = keras.layers.LayerNormalization()(h)
    mlm = keras.layers.Dense(30, name="mlm")(h[:, :2])
    nsp = keras.layers.Dense(2, name="nsp")(keras.layers.GlobalAveragePooling1D()(h))
    model = keras.Model(tok, {"mlm": mlm, "nsp": nsp})
    opt = optimization.create_optimizer(model, learning_rate=1e-2, total_steps=8)
    model.compile(optimizer=opt, **losses.compile_args())
    return model


def _data():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.integers(0, 30, (64, 6)).astype("int32")
    y = {"mlm": x[:, :2], "nsp": (x[:, 0] > 15).astype("int32")}
    w = {"mlm": np.ones((64, 2), "float32"), "nsp": np.ones(64, "float32")}
    return tf.data.Dataset.from_tensor_slices((x, y, w)).repeat().batch(8)


@pytest.mark.parametrize("name", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains_and_resumes(name, policy, tmp_path):
    import keras

    from bert_tf.train.loop import fit_steps

    policy.set_global_policy(name)
    model = _build(keras)
    assert model.get_layer("mlm").compute_dtype == name.split("_")[1]
    if name == "mixed_float16":  # Keras wraps the optimizer to scale the loss
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    r = fit_steps(model, _data(), total_steps=4, output_dir=str(tmp_path), checkpoint_every=2,
                  verbose=0)
    assert r["step"] == 4 and np.isfinite(r["logs"]["loss"])
    # variables stay float32 (only compute is low precision)
    assert all(v.dtype == "float32" for v in model.trainable_variables)

    again = _build(keras)
    r2 = fit_steps(again, _data(), total_steps=8, output_dir=str(tmp_path), checkpoint_every=2,
                   resume=True, verbose=0)
    assert r2["resumed_from_step"] == 4 and r2["step"] == 8
    assert np.isfinite(r2["logs"]["loss"])


def test_gradient_accumulation_in_fit_steps_counts_updates(tmp_path):
    """Steps, checkpoints and log lines count optimizer updates, not micro-batches."""
    import json

    import keras

    from bert_tf.train import losses, optimization
    from bert_tf.train.loop import fit_steps

    model = _build(keras)
    opt = optimization.create_optimizer(model, learning_rate=1e-2, total_steps=6,
                                        accumulation_steps=3)
    model.compile(optimizer=opt, **losses.compile_args())
    r = fit_steps(model, _data(), total_steps=6, output_dir=str(tmp_path), checkpoint_every=2,
                  accumulation_steps=3, verbose=0)
    assert r["step"] == 6 and int(model.optimizer._iterations) == 18
    with open(tmp_path / "train_log.jsonl") as f:
        assert [json.loads(line)["step"] for line in f] == [1, 2, 3, 4, 5, 6]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "ckpt-00000002", "ckpt-00000004", "ckpt-00000006"]
