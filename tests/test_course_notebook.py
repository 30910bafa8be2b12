"""course.notebook: the tf.data autotune switch for Keras' array inputs changes speed only."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")


def _batches(get_tf_dataset, adapter_cls, x, y, seed):
    import keras

    keras.utils.set_random_seed(seed)
    adapter = adapter_cls(x, y, batch_size=8, shuffle=True)
    ds = get_tf_dataset(adapter)
    return ds, [tuple(t.numpy() for t in batch) for batch in ds]


def test_arrays_without_tfdata_autotune_keeps_batches_and_order():
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

    from course.notebook import arrays_without_tfdata_autotune

    assert arrays_without_tfdata_autotune()
    assert arrays_without_tfdata_autotune()  # idempotent: wraps the original once
    patched = ArrayDataAdapter.get_tf_dataset
    original = patched.__wrapped__
    assert not getattr(original, "_without_autotune", False)

    x = np.arange(60, dtype="float32").reshape(30, 2)
    y = np.arange(30, dtype="int32")
    ds_new, new = _batches(patched, ArrayDataAdapter, x, y, seed=7)
    ds_old, old = _batches(original, ArrayDataAdapter, x, y, seed=7)

    assert ds_new.options().autotune.enabled is False
    assert ds_old.options().autotune.enabled is not False
    assert len(new) == len(old) == 4
    for (xn, yn), (xo, yo) in zip(new, old, strict=True):
        np.testing.assert_array_equal(xn, xo)
        np.testing.assert_array_equal(yn, yo)
    assert sorted(np.concatenate([b[1] for b in new]).tolist()) == list(range(30))
    assert np.concatenate([b[1] for b in new]).tolist() != list(range(30))  # shuffled


def test_fit_runs_with_the_switch_on():
    import keras

    from course.notebook import arrays_without_tfdata_autotune

    arrays_without_tfdata_autotune()
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).standard_normal((32, 2)).astype("float32")
    history = model.fit(x, np.arange(32) % 3, batch_size=8, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.predict(x, verbose=0).shape == (32, 3)
