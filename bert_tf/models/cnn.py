"""A small convolutional network for the image-transfer chapter: conv blocks, then a dense
layer, then a classification head.

    image (batch, h, w) or (batch, h, w, c)
      → block_1 … block_n   Conv2D 3×3 (same) + ReLU + MaxPool 2×2, filters doubling
      → dense               Flatten + Dense + ReLU          (the "penultimate" features)
      → head                Dense(num_classes)               logits, no softmax

The four kinds of layer are *named groups* (`block_1`, …, `dense`, `head`) so transfer
learning reads like its description: ``model.freeze(2)`` freezes the lowest two groups,
``model.with_new_head(5, keep=3)`` copies the lowest three groups under fresh upper layers
for a new task, ``model.features(x)`` returns every group's activations (for linear probes),
and ``model.first_layer_filters()`` the 3×3 filters a learner can draw.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="bert_tf")
class ConvBlock(keras.layers.Layer):
    """Conv2D 3×3 (same padding) + ReLU, then 2×2 max pooling: halves height and width."""

    def __init__(self, filters: int, kernel_size: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.conv = keras.layers.Conv2D(self.filters, self.kernel_size, padding="same",
                                        activation="relu", dtype=self.dtype_policy, name="conv")
        self.pool = keras.layers.MaxPooling2D(2, dtype=self.dtype_policy, name="pool")

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.built = True

    def call(self, x):
        return self.pool(self.conv(x))

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        return (b, None if h is None else h // 2, None if w is None else w // 2, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package="bert_tf")
class SmallCNN(keras.Model):
    """`SmallCNN(num_classes=5)`: conv blocks → dense → head, with transfer helpers.

    Args:
        num_classes: outputs of the head (logits).
        image_shape: (height, width) or (height, width, channels); 2-D images get a
            channel axis added in `call`. Pixel scaling is the caller's job (e.g. `/ 255`).
        filters: filters of each conv block, lowest first; one block per entry.
        dense_units: width of the `dense` layer before the head.
        dropout: dropout before the head (0 turns it off).
    """

    def __init__(self, num_classes: int = 10, image_shape=(28, 28), filters=(16, 32, 64),
                 dense_units: int = 64, dropout: float = 0.0, **kwargs):
        kwargs.setdefault("name", "small_cnn")
        super().__init__(**kwargs)
        image_shape = tuple(int(d) for d in image_shape)
        if len(image_shape) not in (2, 3):
            raise ValueError(f"image_shape must be (h, w) or (h, w, c), got {image_shape}")
        if not filters:
            raise ValueError("filters must name at least one conv block")
        self.num_classes = int(num_classes)
        self.image_shape = image_shape
        self.filters = tuple(int(f) for f in filters)
        self.dense_units = int(dense_units)
        self.dropout_rate = float(dropout)
        policy = self.dtype_policy
        self.blocks = [ConvBlock(f, dtype=policy, name=f"block_{i + 1}")
                       for i, f in enumerate(self.filters)]
        self.flatten = keras.layers.Flatten(dtype=policy, name="flatten")
        self.dense = keras.layers.Dense(self.dense_units, activation="relu", dtype=policy,
                                        name="dense")
        self.dropout = keras.layers.Dropout(self.dropout_rate, dtype=policy, name="dropout")
        self.head = self._new_head(self.num_classes)
        self.build()

    def _new_head(self, num_classes: int):
        return keras.layers.Dense(num_classes, dtype=self.dtype_policy, name="head")

    # ------------------------------------------------------------------ shapes and calls

    @property
    def _input_shape4(self):
        h, w, *c = self.image_shape
        return (None, h, w, c[0] if c else 1)

    def build(self, input_shape=None):
        if self.built:
            return
        shape = self._input_shape4
        for block in self.blocks:
            block.build(shape)
            shape = block.compute_output_shape(shape)
        flat = 1
        for d in shape[1:]:
            flat *= d
        self.dense.build((None, flat))
        self.head.build((None, self.dense_units))
        self.built = True

    def _as_4d(self, images):
        images = ops.cast(images, self.compute_dtype)
        if len(images.shape) == 3:
            images = ops.expand_dims(images, -1)
        return images

    def features(self, images, training=False) -> dict:
        """Every group's output, in order: ``{"block_1": (b,h,w,c), …, "dense": (b, units),
        "head": (b, num_classes)}`` — what a linear probe per layer looks at."""
        x = self._as_4d(images)
        out = {}
        for block in self.blocks:
            x = block(x)
            out[block.name] = x
        x = self.dense(self.flatten(x))
        out["dense"] = x
        out["head"] = self.head(self.dropout(x, training=training))
        return out

    def call(self, images, training=False):
        return self.features(images, training=training)["head"]

    # ------------------------------------------------------------------ transfer helpers

    @property
    def layer_groups(self) -> list[str]:
        """Group names from the input up: ``["block_1", …, "dense", "head"]``."""
        return [b.name for b in self.blocks] + ["dense", "head"]

    def group(self, name: str):
        """The layer of one group, by name."""
        for layer in [*self.blocks, self.dense, self.head]:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer group {name!r}; groups are {self.layer_groups}")

    def freeze(self, num_groups: int) -> None:
        """Freeze the lowest `num_groups` groups and unfreeze the rest.

        ``freeze(0)`` trains everything (fine-tuning); ``freeze(len(filters))`` freezes every
        conv block; ``freeze(len(filters) + 1)`` also the dense layer (only the head learns).
        Compile (again) after freezing: Keras fixes the trainable set at compile time.
        """
        groups = self.layer_groups
        if not 0 <= num_groups < len(groups):
            raise ValueError(f"num_groups must be in [0, {len(groups) - 1}] "
                             f"(the head always trains), got {num_groups}")
        for i, name in enumerate(groups):
            self.group(name).trainable = i >= num_groups

    def trainable_groups(self) -> list[str]:
        return [name for name in self.layer_groups if self.group(name).trainable]

    def with_new_head(self, num_classes: int, keep: int | None = None,
                      seed: int | None = None) -> SmallCNN:
        """A copy of this network for a new task with `num_classes` outputs.

        The lowest `keep` groups get this network's weights (default: every group below the
        head); the groups above them, and always the head, start from a fresh random
        initialisation (`seed` makes it repeatable). This model is left as it is, and every
        group of the copy is trainable: call `freeze` on it as needed.
        """
        groups = self.layer_groups
        keep = len(groups) - 1 if keep is None else int(keep)
        if not 0 <= keep < len(groups):
            raise ValueError(f"keep must be in [0, {len(groups) - 1}] (the head is always "
                             f"new), got {keep}")
        copy = type(self).from_config({**self.get_config(), "num_classes": int(num_classes)})
        if seed is not None:
            for i, name in enumerate(groups[keep:]):
                layer = copy.group(name)
                kernel = layer.conv.kernel if isinstance(layer, ConvBlock) else layer.kernel
                kernel.assign(keras.initializers.GlorotUniform(seed + i)(kernel.shape))
        for name in groups[:keep]:
            copy.group(name).set_weights(self.group(name).get_weights())
        return copy

    def first_layer_filters(self):
        """The first conv layer's kernels as a NumPy array (filters, k, k, in_channels)."""
        kernel = ops.convert_to_numpy(self.blocks[0].conv.kernel)  # (k, k, c_in, filters)
        return kernel.transpose(3, 0, 1, 2)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "image_shape": list(self.image_shape),
            "filters": list(self.filters),
            "dense_units": self.dense_units,
            "dropout": self.dropout_rate,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
