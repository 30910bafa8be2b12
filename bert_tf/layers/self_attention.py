"""Multi-head self-attention on `keras.ops.dot_product_attention`.

`dot_product_attention` lets each backend pick its best kernel (cuDNN / flash attention on
JAX GPUs and TPUs). It has no dropout on the attention probabilities, so while training with
`attention_dropout > 0` the same maths is spelled out by hand, exactly as in the original BERT.
"""

import keras
from keras import ops

from bert_tf.layers.dropout import Dropout


@keras.saving.register_keras_serializable(package="bert_tf")
class SelfAttention(keras.layers.Layer):
    """(batch, seq, hidden) -> (batch, seq, hidden).

    `padding_mask` (batch x seq, 1 = real token, 0 = padding) hides padded *keys*;
    `causal=True` additionally hides future positions (GPT).
    """

    def __init__(self, hidden_size, num_heads, attention_dropout=0.1, initializer_range=0.02,
                 causal=False, **kwargs):
        super().__init__(**kwargs)
        if hidden_size % num_heads:
            raise ValueError(f"hidden_size {hidden_size} is not a multiple of num_heads {num_heads}")
        self.hidden_size = hidden_size
        self.num_heads = num_heads
        self.head_size = hidden_size // num_heads
        self.attention_dropout = attention_dropout
        self.initializer_range = initializer_range
        self.causal = causal

        def dense(name):
            return keras.layers.Dense(
                hidden_size, name=name, dtype=self.dtype_policy,
                kernel_initializer=keras.initializers.TruncatedNormal(stddev=initializer_range))

        self.query, self.key, self.value = dense("query"), dense("key"), dense("value")
        self.output_dense = dense("output")
        self.dropout = Dropout(attention_dropout, dtype=self.dtype_policy,
                                            name="dropout")

    def build(self, input_shape):
        for layer in (self.query, self.key, self.value, self.output_dense):
            layer.build(input_shape)
        self.built = True

    def _split_heads(self, x):
        # (batch, seq, hidden) -> (batch, seq, heads, head_size): the layout the op expects.
        return ops.reshape(x, (*ops.shape(x)[:2], self.num_heads, self.head_size))

    def _project_qkv(self, x):
        # One (hidden, 3 * hidden) matmul instead of three (hidden, hidden) ones: a wider
        # matmul runs closer to the machine's peak. The three Dense layers keep their own
        # weights, so checkpoints see query/key/value exactly as in the original BERT.
        layers = (self.query, self.key, self.value)
        kernel = ops.concatenate([ops.cast(d.kernel, x.dtype) for d in layers], axis=1)
        bias = ops.concatenate([ops.cast(d.bias, x.dtype) for d in layers], axis=0)
        return ops.split(ops.matmul(x, kernel) + bias, 3, axis=-1)

    def call(self, x, padding_mask=None, training=False):
        q, k, v = (self._split_heads(t) for t in self._project_qkv(x))
        mask = self._key_mask(padding_mask)
        if training and self.attention_dropout > 0:
            out = self._attention_with_dropout(q, k, v, mask, training)
        else:
            out = ops.dot_product_attention(q, k, v, mask=mask, is_causal=self.causal)

        out = ops.reshape(out, (*ops.shape(out)[:2], self.hidden_size))
        return self.output_dense(out)

    def attention_probabilities(self, x, padding_mask=None):
        """The attention weights this layer applies to `x`: (batch, heads, query, key).

        For looking inside a trained model (attention maps); `call` does not need them.
        """
        q, k, _ = (self._split_heads(t) for t in self._project_qkv(x))
        return self._probabilities(q, k, self._key_mask(padding_mask))

    def _attention_with_dropout(self, q, k, v, mask, training):
        probs = ops.cast(self._probabilities(q, k, mask), v.dtype)
        probs = self.dropout(probs, training=training)
        return ops.einsum("bnts,bsnh->btnh", probs, v)

    @staticmethod
    def _key_mask(padding_mask):
        if padding_mask is None:
            return None
        # (batch, seq) -> (batch, 1 head, 1 query, seq keys): every query ignores padded keys.
        return ops.cast(padding_mask, "bool")[:, None, None, :]

    def _probabilities(self, q, k, mask):
        # softmax(q k^T / sqrt(d)), in float32, exactly as the original BERT.
        scores = ops.einsum("btnh,bsnh->bnts", q, k)
        scores = ops.cast(scores, "float32") / (self.head_size ** 0.5)
        seq = ops.shape(q)[1]
        if self.causal:
            future = ops.tril(ops.ones((seq, seq), "bool"))[None, None, :, :]
            mask = future if mask is None else ops.logical_and(mask, future)
        if mask is not None:
            scores = ops.where(mask, scores, -1e9)
        return ops.softmax(scores, axis=-1)

    def compute_output_shape(self, input_shape, padding_mask_shape=None):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_size": self.hidden_size,
            "num_heads": self.num_heads,
            "attention_dropout": self.attention_dropout,
            "initializer_range": self.initializer_range,
            "causal": self.causal,
        }
