"""Atomic checkpoints: keep last N, ignore partial writes, refuse another config."""

import os

import numpy as np
import pytest

pytestmark = pytest.mark.multibackend


def _model(width=8):
    import keras

    from bert_tf.train.optimization import create_optimizer

    keras.utils.set_random_seed(0)
    inp = keras.Input((4,))
    h = keras.layers.Dense(width, name="hidden")(inp)
    h = keras.layers.Dropout(0.1, name="drop")(h)
    out = keras.layers.Dense(2, name="head")(h)
    model = keras.Model(inp, out)
    model.compile(optimizer=create_optimizer(model, learning_rate=1e-2, total_steps=10),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _train(model, steps):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8 * steps, 4)).astype("float32")
    y = rng.integers(0, 2, 8 * steps)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)


def test_save_restore_round_trip_with_optimizer_state(tmp_path):
    from bert_tf.train.checkpointing import CheckpointManager

    model = _model()
    _train(model, 3)
    mgr = CheckpointManager(str(tmp_path), keep=2)
    for step in (1, 2, 3):
        mgr.save(step, model, model.optimizer, extra={"note": "x"})
    assert mgr.steps() == [2, 3]  # keep=2
    state = mgr.read_state(3)
    assert state["step"] == 3 and state["note"] == "x"

    fresh = _model()
    fresh.optimizer.build(fresh.trainable_variables)
    assert int(fresh.optimizer.iterations) == 0
    mgr.restore(3, fresh, fresh.optimizer)
    assert int(fresh.optimizer.iterations) == 3
    # the learning-rate schedule continues from the restored step
    assert float(fresh.optimizer.learning_rate) == pytest.approx(
        float(model.optimizer.learning_rate))
    for a, b in zip(model.variables, fresh.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(a.value), np.asarray(b.value), err_msg=a.path)
    for a, b in zip(model.optimizer.variables, fresh.optimizer.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(a.value), np.asarray(b.value), err_msg=a.path)


def test_partial_write_is_ignored_and_cleaned(tmp_path):
    from bert_tf.train.checkpointing import CheckpointManager

    model = _model()
    _train(model, 1)
    mgr = CheckpointManager(str(tmp_path), keep=3)
    mgr.save(1, model, model.optimizer)
    # what a kill during the write of step 2 leaves behind
    partial = tmp_path / "ckpt-00000002.tmp-999"
    partial.mkdir()
    (partial / "model.safetensors").write_bytes(b"\0" * 10)
    # a directory named like a checkpoint but without state.json is not complete either
    (tmp_path / "ckpt-00000003").mkdir()
    assert mgr.latest_step() == 1
    mgr.remove_partial()
    assert not partial.exists()


def test_checkpoint_of_another_config_is_refused(tmp_path):
    from bert_tf.errors import CheckpointError
    from bert_tf.train.checkpointing import CheckpointManager

    model = _model(width=8)
    _train(model, 1)
    mgr = CheckpointManager(str(tmp_path))
    mgr.save(1, model, model.optimizer)
    other = _model(width=16)
    other.optimizer.build(other.trainable_variables)
    with pytest.raises(CheckpointError) as err:
        mgr.restore(1, other, other.optimizer)
    msg = str(err.value)
    assert "hidden/kernel" in msg and "(4, 8)" in msg and "(4, 16)" in msg
    assert "another config" in msg and "\n" not in msg
    assert os.path.basename(mgr.path(1)) in msg


def test_unreadable_state_is_a_clear_error(tmp_path):
    from bert_tf.errors import CheckpointError
    from bert_tf.train.checkpointing import CheckpointManager

    model = _model()
    _train(model, 1)
    mgr = CheckpointManager(str(tmp_path))
    path = mgr.save(1, model, model.optimizer)
    with open(os.path.join(path, "state.json"), "w") as f:
        f.write("{not json")
    with pytest.raises(CheckpointError, match="state.json: cannot read"):
        mgr.restore(1, model, model.optimizer)
