"""BERT's masked-language-model head, evaluated only at the masked positions.

    h = LayerNorm(activation(Dense(sequence_output[masked_positions])))
    logits = h @ word_embeddings^T + output_bias

The output projection is *tied* to the input word embeddings (passed in at call time, so
the two layers share one variable), plus an output-only bias per vocabulary entry.
"""

import keras
from keras import ops

from bert_tf.layers.activations import get_activation


@keras.saving.register_keras_serializable(package="bert_tf")
class MaskedLMHead(keras.layers.Layer):
    def __init__(self, vocab_size, hidden_size, activation="gelu_approximate",
                 layer_norm_epsilon=1e-12, initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range
        self.transform = keras.layers.Dense(
            hidden_size, activation=get_activation(activation), dtype=self.dtype_policy,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range),
            name="transform")
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name="layer_norm")

    def build(self, input_shape=None):
        self.transform.build((None, None, self.hidden_size))
        self.layer_norm.build((None, None, self.hidden_size))
        self.output_bias = self.add_weight(shape=(self.vocab_size,), initializer="zeros",
                                           name="output_bias")
        self.built = True

    def call(self, sequence_output, masked_positions, word_embeddings):
        # (batch, seq, hidden) gathered at (batch, predictions) -> (batch, predictions, hidden)
        positions = ops.cast(masked_positions, "int32")
        h = ops.take_along_axis(sequence_output, positions[:, :, None], axis=1)
        h = self.layer_norm(self.transform(h))
        embeddings = ops.cast(word_embeddings, h.dtype)
        logits = ops.matmul(h, ops.transpose(embeddings)) + ops.cast(self.output_bias, h.dtype)
        return logits

    def compute_output_shape(self, sequence_output_shape, masked_positions_shape=None,
                             word_embeddings_shape=None):
        return (*masked_positions_shape, self.vocab_size)

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "activation": self.activation,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "initializer_range": self.initializer_range,
        }
