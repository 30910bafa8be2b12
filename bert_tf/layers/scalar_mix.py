"""ELMo's ScalarMix: a learned weighted average of a model's layers (Peters et al., 2018).

    mix = gamma * sum_k softmax(w)_k * h_k

The weights start equal (w = 0) and gamma at 1, so the untrained mix is the plain average.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="bert_tf")
class ScalarMix(keras.layers.Layer):
    """Called on a list of same-shaped tensors (e.g. BERT's `hidden_states`)."""

    def build(self, input_shape):
        num_layers = len(input_shape)
        self.scalar_weights = self.add_weight(shape=(num_layers,), initializer="zeros",
                                              name="scalar_weights")
        self.gamma = self.add_weight(shape=(), initializer="ones", name="gamma")
        self.built = True

    def call(self, tensors):
        if len(tensors) != self.scalar_weights.shape[0]:
            raise ValueError(f"ScalarMix was built for {self.scalar_weights.shape[0]} tensors, "
                             f"got {len(tensors)}")
        weights = ops.cast(ops.softmax(self.scalar_weights), self.compute_dtype)
        stacked = ops.stack([ops.cast(t, self.compute_dtype) for t in tensors], axis=0)
        mixed = ops.tensordot(weights, stacked, axes=1)  # sum over the layer axis
        return ops.cast(self.gamma, self.compute_dtype) * mixed

    def compute_output_shape(self, input_shape):
        return input_shape[0]
