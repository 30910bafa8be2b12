"""A small Transformer encoder-decoder for denoising pretraining (BART, T5; Lewis et al. 2019).

BERT is an encoder: it can fill in one masked token per position, but it cannot *write* a
sequence of a length it chooses. GPT is a decoder: it writes, but reads only the left
context. An encoder-decoder has both: a bidirectional BERT-style encoder reads the (corrupted)
source, and a causal GPT-style decoder writes the target one token at a time, reading the
encoder's outputs through cross-attention at every layer.

    e_0 = BertEmbeddings(source)                       # words + positions (+ one segment)
    e_l = TransformerBlock(e_{l-1})                      # BERT's block, bidirectional
    d_0 = LayerNorm(words[target_in] + dec_positions)    # the same word table
    d_l = DecoderBlock(d_{l-1}, e_L)                     # causal self-attn + cross-attn + FFN
    P(next token) = softmax(d_L @ words^T)               # output tied to the input table

One word table serves the encoder input, the decoder input and the output layer ("tied
embeddings", as in BART and T5), so most parameters are shared by both sides.

Training uses **teacher forcing**: the decoder's input is the *true* target shifted right by
one (`[start] y_1 ... y_{n-1}`) and every position predicts the next true token
(`y_1 ... y_n [eos]`) at once, like GPT. `seq2seq_batch` builds those arrays. At inference
there is no true target: `generate` feeds the model its own greedy choices until it writes
[eos] (no key/value cache: every step reruns the decoder over what it has written, which is
simple, exact and fast enough for short sentences).

Pieces, in reading order: `Seq2SeqConfig`, `Seq2SeqModel` (`encode`, `decode`, `logits`,
`call`, `generate`), `seq2seq_batch`.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
from keras import ops

from bert_tf.layers.decoder_block import DecoderBlock
from bert_tf.layers.dropout import Dropout
from bert_tf.layers.embeddings import BertEmbeddings
from bert_tf.layers.transformer_block import TransformerBlock


@dataclasses.dataclass
class Seq2SeqConfig:
    vocab_size: int
    max_length: int = 128  # learned positions on each side: the longest source and target
    hidden_size: int = 128
    num_encoder_layers: int = 2
    num_decoder_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 512
    dropout: float = 0.1
    attention_dropout: float = 0.1
    activation: str = "gelu_approximate"
    layer_norm_epsilon: float = 1e-12
    # BERT's 0.02 suits 768-wide layers; small models learn far faster near 1/sqrt(hidden_size)
    # (at width 64, 0.1 finds the copy alignment in a few hundred steps, 0.02 does not).
    initializer_range: float = 0.02
    # False: BERT/BART post-LN blocks; True: GPT-2/T5 pre-LN blocks (+ a final LayerNorm on
    # each side), which tolerate the high learning rates of a short run.
    norm_first: bool = False
    pad_id: int = 0  # padding: hidden from attention on both sides, never predicted
    start_id: int = 1  # the decoder's first input ("decoder start token")
    eos_id: int = 2  # the decoder writes it to say "done"; `generate` stops there

    def __post_init__(self):
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of "
                             f"num_heads {self.num_heads}")
        for name in ("pad_id", "start_id", "eos_id"):
            if not 0 <= getattr(self, name) < self.vocab_size:
                raise ValueError(f"{name} {getattr(self, name)} is not a token id of a "
                                 f"vocabulary of {self.vocab_size}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> Seq2SeqConfig:
        return cls(**values)


@keras.saving.register_keras_serializable(package="bert_tf")
class Seq2SeqModel(keras.Model):
    """Encoder-decoder: {"source_ids", "target_ids"} (each (batch, len)) -> logits (batch, tgt, vocab).

    `target_ids` is the decoder *input* (`[start] y_1 ... y_{n-1}`, see `seq2seq_batch`).
    Optional "source_mask" / "target_mask" (1 = real token); by default every id other than
    `pad_id` is real (the decoder's first position always is, even when start_id == pad_id).
    """

    def __init__(self, config: Seq2SeqConfig | dict, **kwargs):
        kwargs.setdefault("name", "seq2seq")
        super().__init__(**kwargs)
        if isinstance(config, dict):
            config = Seq2SeqConfig.from_dict(config)
        self.config = config
        c, policy = config, self.dtype_policy
        block_args = (c.hidden_size, c.num_heads, c.intermediate_size, c.activation, c.dropout,
                      c.attention_dropout, c.layer_norm_epsilon, c.initializer_range)

        # Encoder: BERT's embeddings (one segment) and BERT's block.
        self.embeddings = BertEmbeddings(c.vocab_size, c.hidden_size, c.max_length, 1,
                                         c.dropout, c.layer_norm_epsilon, c.initializer_range,
                                         dtype=policy, name="embeddings")
        self.encoder_layers = [TransformerBlock(*block_args, norm_first=c.norm_first,
                                                dtype=policy, name=f"encoder_layer_{i}")
                               for i in range(c.num_encoder_layers)]
        # Decoder: the shared word table + its own positions, LayerNorm, dropout.
        self.decoder_embedding_norm = keras.layers.LayerNormalization(
            epsilon=c.layer_norm_epsilon, dtype=policy, name="decoder_embedding_norm")
        self.decoder_embedding_dropout = Dropout(c.dropout, dtype=policy,
                                                 name="decoder_embedding_dropout")
        self.decoder_layers = [DecoderBlock(*block_args, norm_first=c.norm_first, dtype=policy,
                                            name=f"decoder_layer_{i}")
                               for i in range(c.num_decoder_layers)]
        # Pre-LN stacks leave their outputs un-normalised: one LayerNorm at the end of each.
        self.encoder_norm = self.decoder_norm = None
        if c.norm_first:
            self.encoder_norm = keras.layers.LayerNormalization(
                epsilon=c.layer_norm_epsilon, dtype=policy, name="encoder_norm")
            self.decoder_norm = keras.layers.LayerNormalization(
                epsilon=c.layer_norm_epsilon, dtype=policy, name="decoder_norm")
        self.build()

    def build(self, input_shape=None):
        if self.built:
            return
        c = self.config
        self.embeddings.build()
        self.decoder_position_embeddings = self.add_weight(
            shape=(c.max_length, c.hidden_size), name="decoder_position_embeddings",
            initializer=keras.initializers.TruncatedNormal(stddev=c.initializer_range))
        hidden = (None, None, c.hidden_size)
        for layer in (self.decoder_embedding_norm, *self.encoder_layers, *self.decoder_layers,
                      self.encoder_norm, self.decoder_norm):
            if layer is not None:
                layer.build(hidden)
        self.built = True

    @property
    def word_embeddings(self):
        """The (vocab_size, hidden_size) table shared by encoder, decoder and output layer."""
        return self.embeddings.word_embeddings

    # ---- the two halves --------------------------------------------------------------------
    def source_padding_mask(self, source_ids):
        return ops.not_equal(source_ids, self.config.pad_id)

    def target_padding_mask(self, target_ids):
        first = ops.arange(ops.shape(target_ids)[1]) == 0  # the start token is always real
        return ops.logical_or(ops.not_equal(target_ids, self.config.pad_id), first[None, :])

    def encode(self, source_ids, source_mask=None, training=False):
        """(batch, src) ids -> (batch, src, hidden): one contextual vector per source token."""
        if source_mask is None:
            source_mask = self.source_padding_mask(source_ids)
        x = self.embeddings(source_ids, ops.zeros_like(source_ids), training=training)
        for layer in self.encoder_layers:
            x = layer(x, padding_mask=source_mask, training=training)
        return x if self.encoder_norm is None else self.encoder_norm(x)

    def decode(self, target_ids, encoder_outputs, source_mask, target_mask=None,
               training=False):
        """(batch, tgt) decoder inputs + encoder outputs -> (batch, tgt, hidden).

        Position t sees decoder inputs 0..t (causal) and every real source position.
        """
        if target_mask is None:
            target_mask = self.target_padding_mask(target_ids)
        x = self._embed_target(target_ids, training)
        for layer in self.decoder_layers:
            x = layer(x, encoder_outputs, padding_mask=target_mask, context_mask=source_mask,
                      training=training)
        return x if self.decoder_norm is None else self.decoder_norm(x)

    def _embed_target(self, target_ids, training=False):
        seq_len = ops.shape(target_ids)[1]
        x = ops.take(self.word_embeddings, target_ids, axis=0)
        x = x + self.decoder_position_embeddings[None, :seq_len, :]
        x = self.decoder_embedding_norm(ops.cast(x, self.compute_dtype))
        return self.decoder_embedding_dropout(x, training=training)

    def logits(self, hidden):
        """The output layer, tied to the word table: hidden @ words^T."""
        return ops.matmul(hidden, ops.transpose(ops.cast(self.word_embeddings, hidden.dtype)))

    def call(self, inputs, training=False):
        source_ids = ops.cast(inputs["source_ids"], "int32")
        target_ids = ops.cast(inputs["target_ids"], "int32")
        source_mask = inputs.get("source_mask")
        source_mask = (self.source_padding_mask(source_ids) if source_mask is None
                       else ops.cast(source_mask, "bool"))
        target_mask = inputs.get("target_mask")
        encoded = self.encode(source_ids, source_mask, training=training)
        return self.logits(self.decode(target_ids, encoded, source_mask, target_mask,
                                       training=training))

    def cross_attention_maps(self, source_ids, target_ids):
        """Every decoder layer's cross-attention weights, a list of (batch, heads, tgt, src).

        Row t of a map says which source positions the decoder read to write token t + 1.
        """
        source_mask = self.source_padding_mask(source_ids)
        target_mask = self.target_padding_mask(target_ids)
        encoded = self.encode(source_ids, source_mask)
        x, maps = self._embed_target(target_ids), []
        for layer in self.decoder_layers:
            maps.append(layer.cross_attention_probabilities(x, encoded, target_mask,
                                                            source_mask))
            x = layer(x, encoded, padding_mask=target_mask, context_mask=source_mask)
        return maps

    # ---- inference -------------------------------------------------------------------------
    def generate(self, source_ids, max_new_tokens: int, source_mask=None) -> np.ndarray:
        """Greedy decoding: (batch, src) -> (batch, n) generated ids, n <= max_new_tokens.

        Each row starts from [start] and appends its most likely next token until it writes
        [eos] (kept in the output) or has `max_new_tokens` tokens; after its [eos] a row is
        filled with `pad_id`. Decoding stops as soon as every row has written [eos], so n is
        the longest row's length. The encoder runs once; each step reruns the decoder on a
        fixed-shape buffer (no cache: later positions are padding the causal mask ignores).
        """
        c = self.config
        source = np.array(source_ids, dtype="int32", ndmin=2)
        if not 1 <= max_new_tokens <= c.max_length:
            raise ValueError(f"max_new_tokens must be in [1, {c.max_length}] (the decoder's "
                             f"positions), got {max_new_tokens}")
        if source_mask is None:
            source_mask = source != c.pad_id
        source_mask = np.asarray(source_mask, dtype=bool)
        encoded = self.encode(source, source_mask)
        batch = len(source)
        buffer = np.full((batch, max_new_tokens), c.pad_id, "int32")
        buffer[:, 0] = c.start_id
        output = np.full((batch, max_new_tokens), c.pad_id, "int32")
        done = np.zeros(batch, bool)
        for t in range(max_new_tokens):
            hidden = self.decode(buffer, encoded, source_mask)[:, t]
            next_ids = np.argmax(ops.convert_to_numpy(self.logits(hidden)), axis=-1)
            next_ids = np.where(done, c.pad_id, next_ids).astype("int32")
            output[:, t] = next_ids
            done |= next_ids == c.eos_id
            if done.all():
                return output[:, :t + 1]
            if t + 1 < max_new_tokens:
                buffer[:, t + 1] = next_ids
        return output

    # ---- saving ----------------------------------------------------------------------------
    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict()}


def seq2seq_batch(sources, targets, config: Seq2SeqConfig, max_source_length: int,
                  max_target_length: int):
    """Teacher-forcing arrays for `fit(x, y, sample_weight=w)` from lists of token ids.

        x["source_ids"]  source, truncated to max_source_length, padded with pad_id
        x["target_ids"]  [start] y_1 ... y_{n-1}    (the decoder's input: the target shifted right)
        y                y_1 ... y_{n-1} [eos]      (what each decoder position must predict)
        w                1.0 on real labels, 0.0 on padding

    Targets are cut to max_target_length - 1 tokens so that [eos] always fits.
    """
    n = len(sources)
    if len(targets) != n:
        raise ValueError(f"{n} sources but {len(targets)} targets")
    c = config
    source_ids = np.full((n, max_source_length), c.pad_id, "int32")
    target_ids = np.full((n, max_target_length), c.pad_id, "int32")
    labels = np.full((n, max_target_length), c.pad_id, "int32")
    weights = np.zeros((n, max_target_length), "float32")
    for i, (src, tgt) in enumerate(zip(sources, targets, strict=True)):
        src = list(src)[:max_source_length]
        tgt = list(tgt)[:max_target_length - 1]
        source_ids[i, :len(src)] = src
        target_ids[i, :len(tgt) + 1] = [c.start_id, *tgt]
        labels[i, :len(tgt) + 1] = [*tgt, c.eos_id]
        weights[i, :len(tgt) + 1] = 1.0
    return {"source_ids": source_ids, "target_ids": target_ids}, labels, weights
