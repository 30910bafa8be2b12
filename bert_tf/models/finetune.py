"""Fine-tuning BERT: one small head on top of the pretrained encoder per task family.

- `BertClassifier`: one label per input, from the pooled [CLS] vector. Sentence pairs
  (entailment, paraphrase) use the same model: put sentence B in segment 1.
- `BertTokenClassifier`: one label per token (NER, POS tagging), from `sequence_output`.
- `BertSpanQA`: extractive question answering; a start and an end logit per token, and
  `decode_best_span` to pick the best answer span (end >= start, at most N tokens long).

Each takes a `BertModel` (`backbone`), so pretrained weights come in with
`BertClassifier(BertModel.from_pretrained(path), num_classes=2)` or
`BertClassifier.from_pretrained(path, num_classes=2)`.
"""

from __future__ import annotations

import keras
from keras import ops

from bert_tf.layers.dropout import Dropout
from bert_tf.models.bert import BertModel


class _FineTuneModel(keras.Model):
    """Shared plumbing: holds the backbone, serialises it, loads pretrained weights."""

    def __init__(self, backbone: BertModel, dropout: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(backbone, BertModel):
            raise TypeError(f"backbone must be a BertModel, got {type(backbone).__name__}")
        self.backbone = backbone
        self.dropout_rate = dropout
        self.dropout = Dropout(dropout, dtype=self.dtype_policy, name="dropout")

    def _encode(self, inputs, training):
        # A frozen backbone (`backbone.trainable = False`) is a feature extractor, as in the
        # feature-based approach of ELMo and the BERT paper: no dropout inside it either.
        return self.backbone(inputs, training=training and self.backbone.trainable)

    def _dense(self, units, name):
        stddev = self.backbone.config.initializer_range
        return keras.layers.Dense(
            units, kernel_initializer=keras.initializers.TruncatedNormal(stddev=stddev),
            dtype=self.dtype_policy, name=name)

    def build(self, input_shape=None):
        if self.built:
            return
        self.backbone.build()
        self.head.build((None, None, self.backbone.config.hidden_size))
        self.built = True

    def get_config(self):
        return {**super().get_config(), "dropout": self.dropout_rate,
                "backbone": keras.saving.serialize_keras_object(self.backbone)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)

    @classmethod
    def from_pretrained(cls, path, **kwargs):
        """A fresh head on a pretrained encoder (any format `BertModel.from_pretrained` reads)."""
        return cls(BertModel.from_pretrained(path), **kwargs)


@keras.saving.register_keras_serializable(package="bert_tf")
class BertClassifier(_FineTuneModel):
    """Sentence (or sentence-pair) classification: logits (batch, num_classes)."""

    def __init__(self, backbone, num_classes, dropout=0.1, **kwargs):
        kwargs.setdefault("name", "bert_classifier")
        super().__init__(backbone, dropout, **kwargs)
        self.num_classes = num_classes
        self.head = self._dense(num_classes, "classifier")
        self.build()

    def call(self, inputs, training=False):
        pooled = self._encode(inputs, training)["pooled_output"]
        return self.head(self.dropout(pooled, training=training))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="bert_tf")
class BertTokenClassifier(_FineTuneModel):
    """Token classification (NER): logits (batch, seq, num_labels)."""

    def __init__(self, backbone, num_labels, dropout=0.1, **kwargs):
        kwargs.setdefault("name", "bert_token_classifier")
        super().__init__(backbone, dropout, **kwargs)
        self.num_labels = num_labels
        self.head = self._dense(num_labels, "classifier")
        self.build()

    def call(self, inputs, training=False):
        sequence = self._encode(inputs, training)["sequence_output"]
        return self.head(self.dropout(sequence, training=training))

    def get_config(self):
        return {**super().get_config(), "num_labels": self.num_labels}


@keras.saving.register_keras_serializable(package="bert_tf")
class BertSpanQA(_FineTuneModel):
    """Extractive QA: {"start_logits", "end_logits"}, each (batch, seq).

    As in the original BERT SQuAD code, one Dense(2) maps every token vector to a start and
    an end score. Padded positions get a very low score so they are never chosen.
    """

    def __init__(self, backbone, dropout=0.1, **kwargs):
        kwargs.setdefault("name", "bert_span_qa")
        super().__init__(backbone, dropout, **kwargs)
        self.head = self._dense(2, "span_logits")
        self.build()

    def call(self, inputs, training=False):
        sequence = self._encode(inputs, training)["sequence_output"]
        logits = ops.cast(self.head(self.dropout(sequence, training=training)), "float32")
        start_logits, end_logits = logits[..., 0], logits[..., 1]
        if inputs.get("padding_mask") is not None:
            real = ops.cast(inputs["padding_mask"], "bool")
            start_logits = ops.where(real, start_logits, -1e9)
            end_logits = ops.where(real, end_logits, -1e9)
        return {"start_logits": start_logits, "end_logits": end_logits}

    def decode(self, outputs, max_answer_length=30, context_mask=None):
        return decode_best_span(outputs["start_logits"], outputs["end_logits"],
                                max_answer_length, context_mask)


def decode_best_span(start_logits, end_logits, max_answer_length=30, context_mask=None):
    """The best answer span per example: argmax of start[i] + end[j] over i <= j < i + max_len.

    `context_mask` (batch, seq; 1 = may be part of an answer) keeps the span inside the
    passage (not in the question or on [CLS]/[SEP]). Returns (start, end, score), each (batch,).
    """
    start_logits = ops.cast(start_logits, "float32")
    end_logits = ops.cast(end_logits, "float32")
    seq = ops.shape(start_logits)[1]
    scores = start_logits[:, :, None] + end_logits[:, None, :]  # (batch, start, end)
    i = ops.arange(seq)[:, None]
    j = ops.arange(seq)[None, :]
    valid = ops.logical_and(j >= i, j - i < max_answer_length)[None, :, :]
    if context_mask is not None:
        allowed = ops.cast(context_mask, "bool")
        valid = ops.logical_and(valid, ops.logical_and(allowed[:, :, None], allowed[:, None, :]))
    scores = ops.where(valid, scores, float("-inf"))
    flat = ops.reshape(scores, (ops.shape(scores)[0], -1))
    best = ops.argmax(flat, axis=-1)
    return best // seq, best % seq, ops.max(flat, axis=-1)
