"""Pretraining losses and metrics (MLM over masked positions, NSP), in `keras.ops`.

The masked-LM loss is BERT's: cross-entropy at the masked positions, weighted by
`masked_weights` (0 for padding predictions), divided by the sum of the weights.
In `compile` this is `SparseSoftmaxCrossEntropy(reduction="mean_with_sample_weight")`
with `masked_weights` as the sample weight of the MLM output; MLM accuracy is a *weighted*
metric for the same reason (padding predictions do not count).
"""

from __future__ import annotations

import keras
from keras import ops


def sparse_softmax_cross_entropy(labels, logits):
    """-log softmax(logits)[label] = logsumexp(logits) - logits[label], in float32.

    `labels` has one dimension fewer than `logits` ([B, P] and [B, P, V] for the MLM).
    The same value as `keras.losses.sparse_categorical_crossentropy(..., from_logits=True)`,
    computed without a one-hot: TensorFlow's XLA lowering of that op multiplies the
    log-softmax by a one-hot of the labels across the whole vocabulary and sums it, one more
    pass over the largest tensor of a pretraining step (640 x 30,522 logits in BERT-mini at
    batch 32), ~4% of the step on a CPU.
    """
    logits = ops.cast(logits, "float32")
    labels = ops.cast(labels, "int32")[..., None]
    picked = ops.take_along_axis(logits, labels, axis=-1)[..., 0]
    return ops.logsumexp(logits, axis=-1) - picked


@keras.saving.register_keras_serializable(package="bert_tf")
class SparseSoftmaxCrossEntropy(keras.losses.Loss):
    """`SparseCategoricalCrossentropy(from_logits=True)` on `sparse_softmax_cross_entropy`."""

    def __init__(self, reduction="sum_over_batch_size", name="sparse_softmax_cross_entropy",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return sparse_softmax_cross_entropy(y_true, y_pred)


def masked_lm_loss(masked_ids, mlm_logits, masked_weights):
    """Mean cross-entropy over real masked positions. Shapes [B, P], [B, P, V], [B, P]."""
    ce = sparse_softmax_cross_entropy(masked_ids, mlm_logits)
    w = ops.cast(masked_weights, "float32")
    return ops.sum(ce * w) / (ops.sum(w) + 1e-5)


def masked_lm_accuracy(masked_ids, mlm_logits, masked_weights):
    pred = ops.argmax(mlm_logits, axis=-1)
    hit = ops.cast(ops.equal(pred, ops.cast(masked_ids, pred.dtype)), "float32")
    w = ops.cast(masked_weights, "float32")
    return ops.sum(hit * w) / (ops.sum(w) + 1e-5)


def nsp_loss(nsp_labels, nsp_logits):
    return ops.mean(keras.losses.sparse_categorical_crossentropy(
        nsp_labels, ops.cast(nsp_logits, "float32"), from_logits=True))


def compile_args(mlm_output: str = "mlm", nsp_output: str = "nsp") -> dict:
    """`loss`, `weighted_metrics` and `metrics` for `model.compile` on a model whose outputs
    are a dict with `mlm_output` ([B, P, V] logits) and `nsp_output` ([B, 2] logits).

    Feed `(x, {mlm: masked_ids, nsp: nsp_labels}, {mlm: masked_weights, nsp: ones})`.
    Logged names: `loss`, `mlm_loss`, `nsp_loss`, `mlm_accuracy`, `nsp_accuracy`.
    """
    return {
        "loss": {
            mlm_output: SparseSoftmaxCrossEntropy(reduction="mean_with_sample_weight"),
            nsp_output: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        },
        "weighted_metrics": {
            mlm_output: [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            nsp_output: [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        },
    }
