"""GPT (Radford et al., 2018): a causal Transformer language model, sampling, and fine-tuning.

    h_0 = token_embedding[ids] + position_embedding[0..n-1]
    h_l = TransformerBlock(h_{l-1}, causal=True)        # the same block as BERT, future masked
    P(next token) = softmax(h_L @ token_embedding^T)     # output tied to the input embedding

The block is the shared `bert_tf.layers.TransformerBlock` with `causal=True`: position t
attends to positions 0..t only, so a whole sequence trains as n next-token predictions at
once. `norm_first=True` (default) is GPT-2's pre-LN ordering, which then needs a final
LayerNorm; `norm_first=False` is GPT-1's post-LN ordering, exactly BERT's.

Pieces, in reading order:
- `GPTConfig`: every number that fixes the model's shape.
- `GPTModel`: the decoder; `call` gives hidden states, `logits` the tied LM projection.
- `GPTLanguageModel`: `GPTModel` + logits for `fit` on next-token prediction, and
  `generate` (greedy, temperature, top-k; the same tokens for the same seed).
- `GPTInputFormatter`: GPT's input transformations, which turn every task into token
  sequences with start / delimiter / extract tokens (classification, entailment,
  similarity in both orders, multiple choice).
- `GPTClassifier`: a linear head on the extract token's final hidden state, for the
  three head shapes those transformations need, with the paper's optional auxiliary LM loss.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
from keras import ops

from bert_tf.layers.dropout import Dropout
from bert_tf.layers.transformer_block import TransformerBlock


@dataclasses.dataclass
class GPTConfig:
    vocab_size: int
    max_length: int = 128  # learned positions: the longest context the model can see
    hidden_size: int = 128
    num_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 512
    dropout: float = 0.1  # embeddings and residual branches (GPT-1: 0.1)
    attention_dropout: float = 0.1
    activation: str = "gelu_approximate"  # GPT-1 used the tanh-approximate GELU
    layer_norm_epsilon: float = 1e-5
    initializer_range: float = 0.02
    # True: GPT-2's pre-LN blocks (+ a final LayerNorm), which train quickly at high learning
    # rates; False: GPT-1's post-LN (BERT's ordering), which needs a lower rate / longer warmup.
    norm_first: bool = True

    def __post_init__(self):
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of "
                             f"num_heads {self.num_heads}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> GPTConfig:
        return cls(**values)


@keras.saving.register_keras_serializable(package="bert_tf")
class GPTModel(keras.Model):
    """The GPT decoder: token ids (batch, seq) -> hidden states (batch, seq, hidden).

    No padding mask is needed for right-padded batches: with causal attention a real token
    never looks at the padding that comes after it.
    """

    def __init__(self, config: GPTConfig | dict, **kwargs):
        kwargs.setdefault("name", "gpt")
        super().__init__(**kwargs)
        if isinstance(config, dict):
            config = GPTConfig.from_dict(config)
        self.config = config
        c, policy = config, self.dtype_policy
        self.embedding_dropout = Dropout(c.dropout, dtype=policy,
                                                      name="embedding_dropout")
        self.blocks = [
            TransformerBlock(c.hidden_size, c.num_heads, c.intermediate_size, c.activation,
                             c.dropout, c.attention_dropout, c.layer_norm_epsilon,
                             c.initializer_range, causal=True, norm_first=c.norm_first,
                             dtype=policy, name=f"layer_{i}")
            for i in range(c.num_layers)
        ]
        # Pre-LN blocks leave their output un-normalised; GPT-2 adds one LayerNorm at the end.
        self.final_norm = (keras.layers.LayerNormalization(epsilon=c.layer_norm_epsilon,
                                                           dtype=policy, name="final_norm")
                           if c.norm_first else None)
        self.build()

    def build(self, input_shape=None):
        if self.built:
            return
        c = self.config
        init = keras.initializers.TruncatedNormal(stddev=c.initializer_range)
        self.token_embedding = self.add_weight(shape=(c.vocab_size, c.hidden_size),
                                               initializer=init, name="token_embedding")
        self.position_embedding = self.add_weight(shape=(c.max_length, c.hidden_size),
                                                  initializer=init, name="position_embedding")
        hidden = (None, None, c.hidden_size)
        for block in self.blocks:
            block.build(hidden)
        if self.final_norm is not None:
            self.final_norm.build(hidden)
        self.built = True

    def call(self, token_ids, training=False, output_hidden_states=False):
        if isinstance(token_ids, dict):
            token_ids = token_ids["token_ids"]
        seq_len = ops.shape(token_ids)[1]
        x = ops.take(self.token_embedding, token_ids, axis=0)
        x = x + self.position_embedding[None, :seq_len, :]
        x = self.embedding_dropout(ops.cast(x, self.compute_dtype), training=training)
        hidden_states = [x]
        for block in self.blocks:
            x = block(x, training=training)
            hidden_states.append(x)
        if self.final_norm is not None:
            x = self.final_norm(x)
        return (x, hidden_states) if output_hidden_states else x

    def logits(self, hidden):
        """The language-model projection, tied to the input embedding: hidden @ E^T."""
        return ops.matmul(hidden, ops.transpose(ops.cast(self.token_embedding, hidden.dtype)))

    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict()}


def sample_next(logits, temperature: float = 1.0, top_k: int | None = None,
                rng: np.random.Generator | None = None) -> np.ndarray:
    """One token id per row of `logits` (batch, vocab).

    temperature 0 is greedy (argmax); otherwise the logits are divided by the temperature
    (< 1 sharper, > 1 flatter) and, with `top_k`, every token outside the k most likely gets
    probability 0 before sampling. All randomness comes from `rng`, so a seed fixes the text.
    """
    logits = np.asarray(keras.ops.convert_to_numpy(logits), dtype="float64")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if temperature == 0:
        return logits.argmax(axis=-1)
    logits = logits / temperature
    if top_k is not None:
        if not 1 <= top_k <= logits.shape[-1]:
            raise ValueError(f"top_k must be in [1, {logits.shape[-1]}], got {top_k}")
        kth = np.sort(logits, axis=-1)[:, -top_k][:, None]
        logits = np.where(logits >= kth, logits, -np.inf)
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    rng = rng if rng is not None else np.random.default_rng()
    # Inverse-CDF sampling, one uniform number per row: the first token whose cumulative
    # probability exceeds u (tokens with probability 0 can never be that token).
    cdf = np.cumsum(probs, axis=-1)
    u = rng.random((probs.shape[0], 1)) * cdf[:, -1:]
    return (cdf <= u).sum(axis=-1)


@keras.saving.register_keras_serializable(package="bert_tf")
class GPTLanguageModel(keras.Model):
    """Next-token prediction: token ids (batch, seq) -> logits (batch, seq, vocab).

    Train with `fit(x=ids[:, :-1], y=ids[:, 1:])` and
    `SparseCategoricalCrossentropy(from_logits=True)`; `.backbone` is the decoder to fine-tune.
    """

    def __init__(self, backbone: GPTModel | GPTConfig | dict, **kwargs):
        kwargs.setdefault("name", "gpt_lm")
        super().__init__(**kwargs)
        if not isinstance(backbone, GPTModel):
            backbone = GPTModel(backbone, dtype=self.dtype_policy)
        self.backbone = backbone
        self.build()

    @property
    def config(self) -> GPTConfig:
        return self.backbone.config

    def build(self, input_shape=None):
        self.backbone.build()
        self.built = True

    def call(self, token_ids, training=False):
        return self.backbone.logits(self.backbone(token_ids, training=training))

    def generate(self, prompt_ids, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, seed: int | None = 0) -> np.ndarray:
        """Continue each prompt (batch, prompt_len) by `max_new_tokens` sampled tokens.

        Returns (batch, prompt_len + max_new_tokens) ids. The context is cropped to the last
        `max_length` tokens. The same seed gives the same continuation.
        """
        ids = np.array(prompt_ids, dtype="int32", ndmin=2)
        rng = np.random.default_rng(seed)
        # One fixed input shape for every step, so the forward pass is traced/compiled once:
        # the context sits at the left and the padding after it is never seen (causal).
        window = min(self.config.max_length, ids.shape[1] + max_new_tokens)
        buffer = np.zeros((ids.shape[0], window), "int32")
        for _ in range(max_new_tokens):
            context = ids[:, -window:]
            length = context.shape[1]
            buffer[:, :length] = context
            logits = self.predict_on_batch(buffer)[:, length - 1, :]
            next_ids = sample_next(logits, temperature, top_k, rng)
            ids = np.concatenate([ids, next_ids[:, None].astype("int32")], axis=1)
        return ids

    def sequence_log_prob(self, token_ids, start: int = 1) -> np.ndarray:
        """Sum over t >= start of log P(token_t | tokens_<t), per row: scores a continuation.

        `token_ids` (batch, seq) must not be padded (score one length at a time).
        """
        ids = np.array(token_ids, dtype="int32", ndmin=2)
        logits = self(ids[:, :-1], training=False)
        log_probs = keras.ops.convert_to_numpy(ops.log_softmax(ops.cast(logits, "float32")))
        target = ids[:, 1:]
        picked = np.take_along_axis(log_probs, target[..., None], axis=-1)[..., 0]
        return picked[:, start - 1:].sum(axis=-1)

    def get_config(self):
        return {**super().get_config(),
                "backbone": keras.saving.serialize_keras_object(self.backbone)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)


class GPTInputFormatter:
    """GPT's task-specific input transformations (Radford et al. 2018, figure 1).

    Every task becomes one or more token sequences the pretrained decoder can read:

        classification   [start] text [extract]
        entailment       [start] premise [delim] hypothesis [extract]
        similarity       [start] a [delim] b [extract]  and  [start] b [delim] a [extract]
        multiple choice  [start] context [delim] answer_k [extract]   for every answer k

    The classifier reads the final hidden state at the [extract] token, which (causal
    attention) has seen the whole input. Each method takes lists of token ids, truncates the
    longest part first to fit `max_length`, right-pads with `pad_id` and returns numpy arrays
    {"token_ids", "extract_index"}.
    """

    def __init__(self, start_id: int, delimiter_id: int, extract_id: int, max_length: int,
                 pad_id: int = 0):
        if max_length < 4:
            raise ValueError(f"max_length must be >= 4, got {max_length}")
        self.start_id, self.delimiter_id, self.extract_id = start_id, delimiter_id, extract_id
        self.max_length, self.pad_id = max_length, pad_id

    def _sequence(self, *parts):
        parts = [list(p) for p in parts]
        budget = self.max_length - 1 - len(parts)  # [start], one delimiter between parts, [extract]
        while sum(map(len, parts)) > budget:
            longest = max(range(len(parts)), key=lambda i: len(parts[i]))
            # Keep the end of the first part (closest to what follows it), the start of others.
            if longest == 0 and len(parts) > 1:
                parts[0].pop(0)
            else:
                parts[longest].pop()
        ids = [self.start_id]
        for i, part in enumerate(parts):
            if i:
                ids.append(self.delimiter_id)
            ids.extend(part)
        ids.append(self.extract_id)
        return ids

    def _pack(self, sequences, shape):
        token_ids = np.full((len(sequences), self.max_length), self.pad_id, "int32")
        extract = np.zeros(len(sequences), "int32")
        for i, seq in enumerate(sequences):
            token_ids[i, :len(seq)] = seq
            extract[i] = len(seq) - 1
        return {"token_ids": token_ids.reshape(*shape, self.max_length),
                "extract_index": extract.reshape(shape)}

    def classification(self, texts):
        return self._pack([self._sequence(t) for t in texts], (len(texts),))

    def entailment(self, premises, hypotheses):
        return self._pack([self._sequence(p, h) for p, h in zip(premises, hypotheses,
                                                                 strict=True)], (len(premises),))

    def similarity(self, texts_a, texts_b):
        """Both orders (there is no natural order of two similar sentences): (batch, 2, seq)."""
        seqs = []
        for a, b in zip(texts_a, texts_b, strict=True):
            seqs += [self._sequence(a, b), self._sequence(b, a)]
        return self._pack(seqs, (len(texts_a), 2))

    def multiple_choice(self, contexts, choices):
        """`choices[i]` is the list of candidate answers for `contexts[i]`: (batch, n, seq)."""
        n = len(choices[0])
        seqs = []
        for context, answers in zip(contexts, choices, strict=True):
            if len(answers) != n:
                raise ValueError(f"every example needs {n} choices, got {len(answers)}")
            seqs += [self._sequence(context, a) for a in answers]
        return self._pack(seqs, (len(contexts), n))


TASK_MODES = ("classification", "similarity", "multiple_choice")


@keras.saving.register_keras_serializable(package="bert_tf")
class GPTClassifier(keras.Model):
    """A linear head on the pretrained decoder, reading the [extract] token's hidden state.

    inputs = {"token_ids", "extract_index"} from `GPTInputFormatter`; by `mode`:
    - "classification" (also entailment): token_ids (batch, seq) -> logits (batch, classes);
    - "similarity": (batch, 2, seq); the two orders' extract states are *added*, then the
      linear layer -> (batch, classes);
    - "multiple_choice": (batch, n, seq); one score per sequence -> logits (batch, n), to be
      soft-maxed over the n choices.
    `lm_weight` > 0 adds the paper's auxiliary objective, lm_weight * (next-token loss on the
    inputs up to the extract token), which GPT found helps on larger datasets.
    """

    def __init__(self, backbone: GPTModel, num_classes: int = 2, mode: str = "classification",
                 dropout: float = 0.1, lm_weight: float = 0.0, **kwargs):
        kwargs.setdefault("name", "gpt_classifier")
        super().__init__(**kwargs)
        if not isinstance(backbone, GPTModel):
            raise TypeError(f"backbone must be a GPTModel, got {type(backbone).__name__}")
        if mode not in TASK_MODES:
            raise ValueError(f"mode must be one of {TASK_MODES}, got {mode!r}")
        self.backbone = backbone
        self.num_classes = num_classes
        self.mode = mode
        self.dropout_rate = dropout
        self.lm_weight = lm_weight
        self.dropout = Dropout(dropout, dtype=self.dtype_policy, name="dropout")
        units = 1 if mode == "multiple_choice" else num_classes
        self.head = keras.layers.Dense(
            units, dtype=self.dtype_policy, name="classifier",
            kernel_initializer=keras.initializers.TruncatedNormal(
                stddev=backbone.config.initializer_range))
        self.build()

    def build(self, input_shape=None):
        if self.built:
            return
        self.backbone.build()
        self.head.build((None, self.backbone.config.hidden_size))
        self.built = True

    def call(self, inputs, training=False):
        token_ids = ops.cast(inputs["token_ids"], "int32")
        extract = ops.cast(inputs["extract_index"], "int32")
        outer = ops.shape(token_ids)[:-1]  # (batch,) or (batch, n)
        seq = ops.shape(token_ids)[-1]
        flat_ids = ops.reshape(token_ids, (-1, seq))
        flat_extract = ops.reshape(extract, (-1,))
        hidden = self.backbone(flat_ids, training=training)
        h = ops.take_along_axis(hidden, flat_extract[:, None, None], axis=1)[:, 0, :]
        if self.lm_weight > 0:
            self.add_loss(self.lm_weight * self._lm_loss(hidden, flat_ids, flat_extract))
        if self.mode == "classification":
            return self.head(self.dropout(h, training=training))
        h = ops.reshape(h, (*outer, self.backbone.config.hidden_size))
        if self.mode == "similarity":
            return self.head(self.dropout(ops.sum(h, axis=1), training=training))
        return self.head(self.dropout(h, training=training))[..., 0]  # multiple choice

    def _lm_loss(self, hidden, ids, extract):
        logits = ops.cast(self.backbone.logits(hidden[:, :-1]), "float32")
        ce = keras.losses.sparse_categorical_crossentropy(ids[:, 1:], logits, from_logits=True)
        # Predict tokens 1..extract (the input itself, not the padding after it).
        weight = ops.cast(ops.arange(1, ops.shape(ids)[1])[None, :] <= extract[:, None],
                          "float32")
        return ops.sum(ce * weight) / ops.maximum(ops.sum(weight), 1.0)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "mode": self.mode,
                "dropout": self.dropout_rate, "lm_weight": self.lm_weight,
                "backbone": keras.saving.serialize_keras_object(self.backbone)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)
