"""The position-wise feed-forward network: Dense(intermediate) + activation, Dense(hidden)."""

import keras

from bert_tf.layers.activations import get_activation


@keras.saving.register_keras_serializable(package="bert_tf")
class FeedForward(keras.layers.Layer):
    """(batch, seq, hidden) -> (batch, seq, hidden), applied to each position independently."""

    def __init__(self, hidden_size, intermediate_size, activation="gelu_approximate",
                 initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.activation = activation
        self.initializer_range = initializer_range
        init = keras.initializers.TruncatedNormal(stddev=initializer_range)
        # The activation is looked up by name (no lambda in the saved config).
        self.intermediate = keras.layers.Dense(
            intermediate_size, activation=get_activation(activation), kernel_initializer=init,
            dtype=self.dtype_policy, name="intermediate")
        self.output_dense = keras.layers.Dense(
            hidden_size, kernel_initializer=init, dtype=self.dtype_policy, name="output")

    def build(self, input_shape):
        self.intermediate.build(input_shape)
        self.output_dense.build((*input_shape[:-1], self.intermediate_size))
        self.built = True

    def call(self, x):
        return self.output_dense(self.intermediate(x))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "activation": self.activation,
            "initializer_range": self.initializer_range,
        }
