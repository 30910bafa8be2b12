"""One decoder layer of an encoder-decoder Transformer (the original Transformer, BART, T5).

It is BERT's `TransformerBlock` with `causal=True` (a GPT layer) plus one more sub-layer in
the middle, cross-attention to the encoder's outputs, with its own residual + LayerNorm:

    x = LayerNorm(x + Dropout(SelfAttention(x, causal)))          # what have I written so far?
    x = LayerNorm(x + Dropout(CrossAttention(x, encoder_out)))    # what does the source say?
    x = LayerNorm(x + Dropout(FeedForward(x)))

(post-LN, as BERT and BART; `norm_first=True` moves every LayerNorm onto the branch input,
as GPT-2 and T5.) The weights of the two inherited sub-layers keep `TransformerBlock`'s
names (`attention`, `attention_norm`, `feed_forward`, `output_norm`).
"""

import keras

from bert_tf.layers.cross_attention import CrossAttention
from bert_tf.layers.transformer_block import TransformerBlock


@keras.saving.register_keras_serializable(package="bert_tf")
class DecoderBlock(TransformerBlock):
    """(batch, tgt, hidden) decoder states + (batch, src, hidden) encoder outputs -> (batch, tgt, hidden).

    `padding_mask` (batch x tgt) hides padded decoder positions (on top of the causal mask);
    `context_mask` (batch x src) hides padded source positions from cross-attention.
    """

    def __init__(self, hidden_size, num_heads, intermediate_size, activation="gelu_approximate",
                 dropout=0.1, attention_dropout=0.1, layer_norm_epsilon=1e-12,
                 initializer_range=0.02, norm_first=False, **kwargs):
        if not kwargs.pop("causal", True):
            raise ValueError("a decoder block is causal: it must not see the tokens it predicts")
        super().__init__(hidden_size, num_heads, intermediate_size, activation, dropout,
                         attention_dropout, layer_norm_epsilon, initializer_range, causal=True,
                         norm_first=norm_first, **kwargs)
        self.cross_attention = CrossAttention(hidden_size, num_heads, attention_dropout,
                                              initializer_range, dtype=self.dtype_policy,
                                              name="cross_attention")
        self.cross_attention_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name="cross_attention_norm")

    def build(self, input_shape):
        self.cross_attention.build(input_shape)
        self.cross_attention_norm.build(input_shape)
        super().build(input_shape)

    def call(self, x, context, padding_mask=None, context_mask=None, training=False):
        def branch(h):
            return self.dropout(h, training=training)

        if self.norm_first:  # GPT-2 / T5 style
            x = x + branch(self.attention(self.attention_norm(x), padding_mask,
                                          training=training))
            x = x + branch(self.cross_attention(self.cross_attention_norm(x), context,
                                                context_mask, training=training))
            return x + branch(self.feed_forward(self.output_norm(x)))
        # BERT / BART: post-LN.
        x = self.attention_norm(x + branch(self.attention(x, padding_mask, training=training)))
        x = self.cross_attention_norm(
            x + branch(self.cross_attention(x, context, context_mask, training=training)))
        return self.output_norm(x + branch(self.feed_forward(x)))

    def cross_attention_probabilities(self, x, context, padding_mask=None, context_mask=None):
        """The weights of this block's cross-attention for input `x`: (batch, heads, tgt, src).

        Which source positions each decoder position reads (inference: no dropout).
        """
        if self.norm_first:
            h = x + self.attention(self.attention_norm(x), padding_mask)
            h = self.cross_attention_norm(h)
        else:
            h = self.attention_norm(x + self.attention(x, padding_mask))
        return self.cross_attention.attention_probabilities(h, context, context_mask)

    def compute_output_shape(self, input_shape, context_shape=None, padding_mask_shape=None,
                             context_mask_shape=None):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.pop("causal")
        return config
