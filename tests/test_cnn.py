"""SmallCNN: shapes and named groups, freezing, head swaps that keep the body, the first-layer
filters, `.keras` round trips in safe mode, and that it learns a toy image task."""

import keras
import numpy as np
import pytest

from bert_tf.models.cnn import ConvBlock, SmallCNN

pytestmark = pytest.mark.multibackend


def _images(n=6, size=16, seed=0):
    return np.random.default_rng(seed).random((n, size, size)).astype("float32")


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_groups_shapes_and_weight_names():
    model = SmallCNN(num_classes=5, image_shape=(16, 16), filters=(4, 8, 16), dense_units=12)
    assert model.layer_groups == ["block_1", "block_2", "block_3", "dense", "head"]
    feats = model.features(_images())
    assert {k: tuple(v.shape) for k, v in feats.items()} == {
        "block_1": (6, 8, 8, 4), "block_2": (6, 4, 4, 8), "block_3": (6, 2, 2, 16),
        "dense": (6, 12), "head": (6, 5)}
    np.testing.assert_allclose(_np(model(_images())), _np(feats["head"]), atol=1e-6)
    assert [v.path for v in model.weights] == [
        *[f"small_cnn/block_{i}/conv/{w}" for i in (1, 2, 3) for w in ("kernel", "bias")],
        "small_cnn/dense/kernel", "small_cnn/dense/bias",
        "small_cnn/head/kernel", "small_cnn/head/bias"]
    # 3x3 convolutions: 9 * c_in * c_out + c_out parameters per block.
    assert model.count_params() == (9 * 4 + 4) + (9 * 4 * 8 + 8) + (9 * 8 * 16 + 16) \
        + (2 * 2 * 16 * 12 + 12) + (12 * 5 + 5)


def test_channels_last_images_and_other_sizes():
    model = SmallCNN(num_classes=3, image_shape=(8, 8, 3), filters=(4,), dense_units=6)
    x = np.random.default_rng(1).random((2, 8, 8, 3)).astype("float32")
    assert tuple(model(x).shape) == (2, 3)
    with pytest.raises(ValueError, match="image_shape"):
        SmallCNN(image_shape=(28,))
    with pytest.raises(ValueError, match="at least one"):
        SmallCNN(filters=())


def test_conv_block_is_conv_relu_then_max_pool():
    block = ConvBlock(2)
    x = np.random.default_rng(2).normal(size=(1, 4, 4, 1)).astype("float32")
    out = _np(block(x))
    kernel, bias = (_np(w) for w in block.conv.weights)
    padded = np.pad(x[0, :, :, 0], 1)
    conv = np.zeros((4, 4, 2))
    for i in range(4):
        for j in range(4):
            conv[i, j] = np.einsum("hw,hwo->o", padded[i:i + 3, j:j + 3], kernel[:, :, 0]) + bias
    expected = np.maximum(conv, 0).reshape(2, 2, 2, 2, 2).max(axis=(1, 3))
    np.testing.assert_allclose(out[0], expected, atol=1e-5)


def test_freeze_sets_trainable_groups():
    model = SmallCNN(num_classes=5, image_shape=(16, 16), filters=(4, 8))
    total = len(model.trainable_weights)
    model.freeze(2)
    assert model.trainable_groups() == ["dense", "head"]
    assert len(model.trainable_weights) == total - 4
    assert all("block" not in v.path for v in model.trainable_weights)
    model.freeze(0)
    assert model.trainable_groups() == model.layer_groups
    with pytest.raises(ValueError, match="head always trains"):
        model.freeze(len(model.layer_groups))
    with pytest.raises(KeyError, match="block_9"):
        model.group("block_9")


def test_with_new_head_keeps_body_and_leaves_original_alone():
    model = SmallCNN(num_classes=5, image_shape=(16, 16), filters=(4, 8), dense_units=10)
    model.freeze(2)
    x = _images()
    before = _np(model(x))
    copy = model.with_new_head(3, seed=7)
    assert copy.num_classes == 3 and tuple(copy(x).shape) == (6, 3)
    assert copy.trainable_groups() == copy.layer_groups  # a fresh copy trains everything
    np.testing.assert_allclose(_np(copy.features(x)["dense"]), _np(model.features(x)["dense"]),
                               atol=1e-6)
    np.testing.assert_allclose(_np(model(x)), before, atol=0)  # the original is untouched
    again = model.with_new_head(3, seed=7)
    np.testing.assert_allclose(_np(again.head.kernel), _np(copy.head.kernel))
    other = model.with_new_head(3, seed=8)
    assert np.abs(_np(other.head.kernel) - _np(copy.head.kernel)).max() > 1e-3


def test_with_new_head_keep_copies_only_the_lowest_groups():
    model = SmallCNN(num_classes=5, image_shape=(16, 16), filters=(4, 8), dense_units=10)
    copy = model.with_new_head(2, keep=2, seed=3)  # both conv blocks, a fresh dense layer
    for name in ("block_1", "block_2"):
        for a, b in zip(copy.group(name).get_weights(), model.group(name).get_weights(),
                        strict=True):
            np.testing.assert_array_equal(a, b)
    assert np.abs(_np(copy.dense.kernel) - _np(model.dense.kernel)).max() > 1e-3
    x = _images()
    np.testing.assert_allclose(_np(copy.features(x)["block_2"]),
                               _np(model.features(x)["block_2"]), atol=1e-6)
    assert np.abs(_np(copy.features(x)["dense"]) - _np(model.features(x)["dense"])).max() > 1e-3
    with pytest.raises(ValueError, match="keep"):
        model.with_new_head(2, keep=4)


def test_first_layer_filters_layout():
    model = SmallCNN(image_shape=(16, 16), filters=(6, 8))
    filters = model.first_layer_filters()
    assert filters.shape == (6, 3, 3, 1)
    np.testing.assert_allclose(filters[2, :, :, 0], _np(model.blocks[0].conv.kernel)[:, :, 0, 2])


def test_keras_round_trip_in_safe_mode(tmp_path):
    model = SmallCNN(num_classes=4, image_shape=(16, 16), filters=(4, 8), dense_units=10,
                     dropout=0.25)
    x = _images()
    path = str(tmp_path / "cnn.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, SmallCNN)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(_np(loaded(x)), _np(model(x)), atol=1e-6)


def test_learns_a_toy_task_and_frozen_blocks_do_not_move():
    rng = np.random.default_rng(0)
    # Class 0: a bright horizontal bar; class 1: a bright vertical bar; both with noise.
    x = rng.random((64, 12, 12)).astype("float32") * 0.3
    y = np.arange(64) % 2
    for i in range(64):
        k = rng.integers(2, 10)
        if y[i] == 0:
            x[i, k, 2:10] += 1.0
        else:
            x[i, 2:10, k] += 1.0
    model = SmallCNN(num_classes=2, image_shape=(12, 12), filters=(4, 8), dense_units=8)
    model.freeze(1)
    frozen = _np(model.blocks[0].conv.kernel).copy()
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=15, verbose=0)
    assert history.history["accuracy"][-1] >= 0.95
    np.testing.assert_array_equal(_np(model.blocks[0].conv.kernel), frozen)
    assert np.abs(_np(model.blocks[1].conv.kernel)).sum() > 0
