"""Cross-attention: the decoder's queries read the encoder's outputs (Vaswani et al., 2017).

Self-attention takes queries, keys and values from one sequence. In an encoder-decoder the
decoder needs a second attention whose *queries* come from the decoder (what am I writing
now?) and whose *keys and values* come from the encoder (what did the source say?):

    out = softmax(Q(x) K(context)^T / sqrt(d)) V(context)

That is the only difference, so `CrossAttention` is `SelfAttention` with the same weights
(query/key/value/output), the same dropout path and the same config, and its own `call`.
There is no causal mask here: every decoder position may read the whole source. Padding in
the source is hidden with `context_mask`.
"""

import keras
from keras import ops

from bert_tf.layers.self_attention import SelfAttention


@keras.saving.register_keras_serializable(package="bert_tf")
class CrossAttention(SelfAttention):
    """(batch, tgt_len, hidden) queries, (batch, src_len, hidden) context -> (batch, tgt_len, hidden).

    `context_mask` (batch x src_len, 1 = real token, 0 = padding) hides padded source keys.
    """

    def __init__(self, hidden_size, num_heads, attention_dropout=0.1, initializer_range=0.02,
                 **kwargs):
        if kwargs.pop("causal", False):
            raise ValueError("cross-attention reads the whole source: it cannot be causal")
        super().__init__(hidden_size, num_heads, attention_dropout, initializer_range,
                         causal=False, **kwargs)

    def _project(self, x, context):
        # Queries from the decoder, keys and values from the encoder: three separate matmuls
        # (SelfAttention fuses them into one because there all three read the same input).
        return (self._split_heads(self.query(x)), self._split_heads(self.key(context)),
                self._split_heads(self.value(context)))

    def call(self, x, context, context_mask=None, training=False):
        q, k, v = self._project(x, context)
        mask = self._key_mask(context_mask)  # (batch, 1, 1, src): no query reads padded keys
        if training and self.attention_dropout > 0:
            out = self._attention_with_dropout(q, k, v, mask, training)
        else:
            out = ops.dot_product_attention(q, k, v, mask=mask)

        out = ops.reshape(out, (*ops.shape(out)[:2], self.hidden_size))
        return self.output_dense(out)

    def attention_probabilities(self, x, context, context_mask=None):
        """Which source positions each decoder position reads: (batch, heads, tgt, src)."""
        q, k, _ = self._project(x, context)
        return self._probabilities(q, k, self._key_mask(context_mask))

    def compute_output_shape(self, input_shape, context_shape=None, context_mask_shape=None):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.pop("causal")
        return config
