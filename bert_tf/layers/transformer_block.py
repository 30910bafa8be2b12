"""One transformer layer: self-attention then feed-forward, each with a residual + LayerNorm.

BERT (and GPT-1) normalise *after* the residual sum ("post-LN"):

    x = LayerNorm(x + Dropout(SelfAttention(x)))
    x = LayerNorm(x + Dropout(FeedForward(x)))

`causal=True` turns the same block into a GPT decoder layer; `norm_first=True` gives the
GPT-2 ("pre-LN") ordering `x + Dropout(SelfAttention(LayerNorm(x)))`.
"""

import keras

from bert_tf.layers.dropout import Dropout
from bert_tf.layers.feed_forward import FeedForward
from bert_tf.layers.self_attention import SelfAttention


@keras.saving.register_keras_serializable(package="bert_tf")
class TransformerBlock(keras.layers.Layer):
    def __init__(self, hidden_size, num_heads, intermediate_size, activation="gelu_approximate",
                 dropout=0.1, attention_dropout=0.1, layer_norm_epsilon=1e-12,
                 initializer_range=0.02, causal=False, norm_first=False, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.num_heads = num_heads
        self.intermediate_size = intermediate_size
        self.activation = activation
        self.dropout_rate = dropout
        self.attention_dropout = attention_dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range
        self.causal = causal
        self.norm_first = norm_first

        policy = self.dtype_policy
        self.attention = SelfAttention(hidden_size, num_heads, attention_dropout,
                                       initializer_range, causal=causal, dtype=policy,
                                       name="attention")
        self.attention_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=policy, name="attention_norm")
        self.feed_forward = FeedForward(hidden_size, intermediate_size, activation,
                                        initializer_range, dtype=policy, name="feed_forward")
        self.output_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=policy, name="output_norm")
        self.dropout = Dropout(dropout, dtype=policy, name="dropout")

    def build(self, input_shape):
        for layer in (self.attention, self.attention_norm, self.feed_forward, self.output_norm):
            layer.build(input_shape)
        self.built = True

    def call(self, x, padding_mask=None, training=False):
        if self.norm_first:  # GPT-2 style
            h = self.attention(self.attention_norm(x), padding_mask, training=training)
            x = x + self.dropout(h, training=training)
            h = self.feed_forward(self.output_norm(x))
            return x + self.dropout(h, training=training)
        # BERT: post-LN, exactly as the original.
        h = self.attention(x, padding_mask, training=training)
        x = self.attention_norm(x + self.dropout(h, training=training))
        h = self.feed_forward(x)
        return self.output_norm(x + self.dropout(h, training=training))

    def compute_output_shape(self, input_shape, padding_mask_shape=None):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_size": self.hidden_size,
            "num_heads": self.num_heads,
            "intermediate_size": self.intermediate_size,
            "activation": self.activation,
            "dropout": self.dropout_rate,
            "attention_dropout": self.attention_dropout,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "initializer_range": self.initializer_range,
            "causal": self.causal,
            "norm_first": self.norm_first,
        }
