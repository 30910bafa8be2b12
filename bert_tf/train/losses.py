"""Pretraining losses and metrics (MLM over masked positions, NSP), in `keras.ops`.

The masked-LM loss is BERT's: cross-entropy at the masked positions, weighted by
`masked_weights` (0 for padding predictions), divided by the sum of the weights.
In `compile` this is `SparseCategoricalCrossentropy(reduction="mean_with_sample_weight")`
with `masked_weights` as the sample weight of the MLM output; MLM accuracy is a *weighted*
metric for the same reason (padding predictions do not count).
"""

from __future__ import annotations

import keras
from keras import ops


def masked_lm_loss(masked_ids, mlm_logits, masked_weights):
    """Mean cross-entropy over real masked positions. Shapes [B, P], [B, P, V], [B, P]."""
    ce = keras.losses.sparse_categorical_crossentropy(
        masked_ids, ops.cast(mlm_logits, "float32"), from_logits=True
    )
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
            mlm_output: keras.losses.SparseCategoricalCrossentropy(
                from_logits=True, reduction="mean_with_sample_weight"
            ),
            nsp_output: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        },
        "weighted_metrics": {
            mlm_output: [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            nsp_output: [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        },
    }
