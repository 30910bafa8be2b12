"""ELMo (Peters et al., 2018): a bidirectional LSTM language model whose every layer is a feature.

    x_t      = token representation: a word embedding, or a character CNN over the word
    f_t^k    = LSTM_k^fwd(f_1..t^{k-1})      reads left to right, predicts token t+1
    b_t^k    = LSTM_k^bwd(b_t..n^{k-1})      reads right to left, predicts token t-1
    layer 0  = [x_t; x_t]                    (duplicated so every layer has width 2*hidden)
    layer k  = [f_t^k; b_t^k]
    ELMo_t   = gamma * sum_k softmax(s)_k * layer k_t     (`bert_tf.layers.ScalarMix`)

The two directions are separate LSTMs that never exchange information: a representation is
the *concatenation* of a left-to-right and a right-to-left reading ("shallowly bidirectional").
As in the paper, the token representation and the softmax layer are shared (tied) between
the two directions while each direction has its own LSTMs: both directions predict the same
vocabulary from the same kind of state, so one output table learns from twice the signal.
The softmax is *not* tied to the input word embedding: with the character CNN there is no
input word table to tie to, and keeping both modes alike makes them comparable.

- `ELMo`: the biLM; `call` returns every layer, `logits` the shared softmax.
- `ELMoLanguageModel`: `ELMo` trained with `fit(x)` on the forward + backward LM losses.
- `char_ids`: words -> byte ids with begin/end-of-word markers, for the character CNN.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

#: Character ids: 0 padding, 1..256 the UTF-8 bytes, then begin- and end-of-word markers.
CHAR_PAD, BOW, EOW = 0, 257, 258
CHAR_VOCAB_SIZE = 259


def char_ids(sentences, max_chars: int = 16, seq_len: int | None = None) -> np.ndarray:
    """(batch, seq, max_chars) int32 byte ids of each word, `<bow> bytes <eow>`, clipped.

    `sentences` is a list of lists of words; shorter sentences are padded with all-zero words.
    """
    seq_len = seq_len or max((len(s) for s in sentences), default=1)
    out = np.zeros((len(sentences), seq_len, max_chars), "int32")
    for i, words in enumerate(sentences):
        for j, word in enumerate(words[:seq_len]):
            ids = [BOW, *(b + 1 for b in word.encode("utf-8")[: max_chars - 2]), EOW]
            out[i, j, : len(ids)] = ids
    return out


def reverse_within_length(x, lengths):
    """Reverse each row's first `lengths[i]` steps, leaving the padding after them in place."""
    seq = ops.shape(x)[1]
    t = ops.arange(seq)[None, :]
    lengths = ops.cast(lengths, "int32")[:, None]
    index = ops.where(t < lengths, lengths - 1 - t, t)
    if len(x.shape) == 3:
        index = index[:, :, None]
    return ops.take_along_axis(x, index, axis=1)


@keras.saving.register_keras_serializable(package="bert_tf")
class CharCNN(keras.layers.Layer):
    """ELMo's character encoder: (batch, seq, chars) ids -> (batch, seq, output_dim).

    Character embeddings, one convolution per filter width with max-pooling over the word,
    a highway layer, then a linear projection (a small version of Kim et al. 2016).
    """

    def __init__(self, output_dim, char_embedding_dim=16, filters=((1, 32), (2, 32), (3, 64),
                                                                   (4, 64)), **kwargs):
        super().__init__(**kwargs)
        self.output_dim = output_dim
        self.char_embedding_dim = char_embedding_dim
        self.filters = tuple(tuple(f) for f in filters)
        policy = self.dtype_policy
        self.embedding = keras.layers.Embedding(CHAR_VOCAB_SIZE, char_embedding_dim,
                                                dtype=policy, name="char_embedding")
        self.convs = [keras.layers.Conv1D(n, width, activation="tanh", dtype=policy,
                                          name=f"conv_{width}")
                      for width, n in self.filters]
        total = sum(n for _, n in self.filters)
        self.highway_transform = keras.layers.Dense(total, activation="relu", dtype=policy,
                                                    name="highway_transform")
        self.highway_gate = keras.layers.Dense(total, activation="sigmoid", dtype=policy,
                                               bias_initializer=keras.initializers.Constant(-1.0),
                                               name="highway_gate")
        self.projection = keras.layers.Dense(output_dim, dtype=policy, name="projection")

    def build(self, input_shape):
        chars = input_shape[-1]
        self.embedding.build((None, chars))
        for conv in self.convs:
            conv.build((None, chars, self.char_embedding_dim))
        total = sum(n for _, n in self.filters)
        for layer in (self.highway_transform, self.highway_gate, self.projection):
            layer.build((None, total))
        self.built = True

    def call(self, ids):
        batch, seq, chars = ops.shape(ids)
        x = self.embedding(ops.reshape(ids, (-1, chars)))  # (words, chars, dim)
        x = ops.concatenate([ops.max(conv(x), axis=1) for conv in self.convs], axis=-1)
        gate = self.highway_gate(x)
        x = gate * self.highway_transform(x) + (1.0 - gate) * x
        return ops.reshape(self.projection(x), (batch, seq, self.output_dim))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.output_dim)

    def get_config(self):
        return {**super().get_config(), "output_dim": self.output_dim,
                "char_embedding_dim": self.char_embedding_dim, "filters": self.filters}


@keras.saving.register_keras_serializable(package="bert_tf")
class ELMo(keras.Model):
    """The biLM. inputs = {"token_ids": (batch, seq)} (0 = padding) and, with
    `use_chars=True`, {"char_ids": (batch, seq, max_chars)} from `char_ids` as the input
    representation (token ids are then still needed as the LM targets and the mask).

    `call` returns {"layers": [layer 0, ..., layer L] each (batch, seq, 2*hidden),
    "forward": f^L, "backward": b^L} (each (batch, seq, hidden)).
    """

    def __init__(self, vocab_size, hidden_size=128, num_layers=2, embedding_dim=None,
                 dropout=0.1, use_chars=False, residual=True, **kwargs):
        kwargs.setdefault("name", "elmo")
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.embedding_dim = embedding_dim or hidden_size
        self.dropout_rate = dropout
        self.use_chars = use_chars
        self.residual = residual
        policy = self.dtype_policy
        if use_chars:
            self.token_encoder = CharCNN(self.embedding_dim, dtype=policy, name="char_cnn")
        else:
            self.token_encoder = keras.layers.Embedding(vocab_size, self.embedding_dim,
                                                        dtype=policy, name="word_embedding")
        # Project the token representation to the LSTM width so layer 0 matches the others.
        self.token_projection = keras.layers.Dense(hidden_size, dtype=policy,
                                                   name="token_projection")

        def lstm(direction, i):
            return keras.layers.LSTM(hidden_size, return_sequences=True, dtype=policy,
                                     name=f"{direction}_lstm_{i}")

        self.forward_lstms = [lstm("forward", i) for i in range(num_layers)]
        self.backward_lstms = [lstm("backward", i) for i in range(num_layers)]
        self.dropout = keras.layers.Dropout(dropout, dtype=policy, name="dropout")
        self.softmax = keras.layers.Dense(vocab_size, dtype=policy, name="softmax")  # shared
        self.build()  # shapes depend only on the arguments: create the weights now

    def build(self, input_shape=None):
        if self.built:
            return
        if self.use_chars:
            self.token_encoder.build((None, None, 16))
        else:
            self.token_encoder.build((None, None))
        self.token_projection.build((None, None, self.embedding_dim))
        for layer in (*self.forward_lstms, *self.backward_lstms):
            layer.build((None, None, self.hidden_size))
        self.softmax.build((None, self.hidden_size))
        self.built = True

    def call(self, inputs, training=False):
        token_ids = ops.cast(inputs["token_ids"], "int32")
        mask = ops.not_equal(token_ids, 0)
        lengths = ops.sum(ops.cast(mask, "int32"), axis=1)
        source = inputs["char_ids"] if self.use_chars else token_ids
        x = self.token_projection(self.token_encoder(source))
        x = x * ops.cast(mask, x.dtype)[..., None]
        layers = [ops.concatenate([x, x], axis=-1)]
        f = x
        b = reverse_within_length(x, lengths)  # the backward LSTMs read reversed sentences
        for k in range(self.num_layers):
            f_in = self.dropout(f, training=training)
            b_in = self.dropout(b, training=training)
            f_out = self.forward_lstms[k](f_in, mask=mask, training=training)
            b_out = self.backward_lstms[k](b_in, mask=mask, training=training)
            if self.residual and k > 0:
                f_out, b_out = f_out + f, b_out + b
            f, b = f_out, b_out
            layers.append(ops.concatenate([f, reverse_within_length(b, lengths)], axis=-1))
        return {"layers": layers, "forward": f, "backward": reverse_within_length(b, lengths)}

    def logits(self, states):
        return self.softmax(states)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "hidden_size": self.hidden_size, "num_layers": self.num_layers,
                "embedding_dim": self.embedding_dim, "dropout": self.dropout_rate,
                "use_chars": self.use_chars, "residual": self.residual}


def lm_targets(token_ids):
    """Forward targets (token t+1), backward targets (token t-1) and their 0/1 weights."""
    token_ids = ops.cast(token_ids, "int32")
    zeros = ops.zeros_like(token_ids[:, :1])
    forward = ops.concatenate([token_ids[:, 1:], zeros], axis=1)
    backward = ops.concatenate([zeros, token_ids[:, :-1]], axis=1)
    real = ops.not_equal(token_ids, 0)
    fw = ops.cast(ops.logical_and(real, ops.not_equal(forward, 0)), "float32")
    bw = ops.cast(ops.logical_and(real, ops.not_equal(backward, 0)), "float32")
    return forward, backward, fw, bw


@keras.saving.register_keras_serializable(package="bert_tf")
class ELMoLanguageModel(keras.Model):
    """Trains an `ELMo` on both LM directions: `compile(optimizer)`, then `fit(x)` (no y).

    The loss is the mean of the forward and backward next-token cross-entropies over real
    tokens. `call` returns {"forward_logits", "backward_logits"} (batch, seq, vocab).
    """

    def __init__(self, elmo: ELMo, **kwargs):
        kwargs.setdefault("name", "elmo_lm")
        super().__init__(**kwargs)
        self.elmo = elmo
        self.build()

    def build(self, input_shape=None):
        if self.built:
            return
        self.elmo.build()
        self.built = True

    def call(self, inputs, training=False):
        out = self.elmo(inputs, training=training)
        return {"forward_logits": self.elmo.logits(out["forward"]),
                "backward_logits": self.elmo.logits(out["backward"])}

    def lm_losses(self, inputs, outputs=None):
        """(forward loss, backward loss): mean cross-entropy over the predicted tokens."""
        outputs = outputs if outputs is not None else self(inputs, training=False)
        forward, backward, fw, bw = lm_targets(inputs["token_ids"])

        def ce(targets, logits, weights):
            loss = keras.losses.sparse_categorical_crossentropy(
                targets, ops.cast(logits, "float32"), from_logits=True)
            return ops.sum(loss * weights) / ops.maximum(ops.sum(weights), 1.0)

        return (ce(forward, outputs["forward_logits"], fw),
                ce(backward, outputs["backward_logits"], bw))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        forward, backward = self.lm_losses(x, y_pred)
        return 0.5 * (forward + backward)

    def get_config(self):
        return {**super().get_config(), "elmo": keras.saving.serialize_keras_object(self.elmo)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["elmo"] = keras.saving.deserialize_keras_object(config["elmo"])
        return cls(**config)
