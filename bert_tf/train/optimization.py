"""BERT's optimizer: AdamW (or LAMB) with linear warmup, linear decay and global-norm clipping.

What the original BERT `optimization.py` does, expressed with Keras' own optimizers:

- `keras.optimizers.AdamW` already applies *decoupled* weight decay (`w -= lr * wd * w`, the
  same update as BERT's `AdamWeightDecayOptimizer`), clips by global norm (`global_clipnorm`)
  and accumulates gradients (`gradient_accumulation_steps`). We only choose which variables
  are decayed: BERT excludes LayerNorm parameters and biases (`exclude_from_weight_decay`).
  One difference remains: Keras' Adam applies bias correction, BERT's optimizer does not
  (the effect disappears after the warmup).
- `BertSchedule`: linear warmup from 0 to the peak rate, then linear decay to 0 at the last
  step. Keras calls a schedule with the optimizer's *micro-step* counter, so with gradient
  accumulation the schedule divides by the number of accumulated micro-batches.
- Keras 3.15 on the TensorFlow backend clips gradients by global norm *per replica, before*
  the cross-replica all-reduce (`BaseOptimizer._backend_apply_gradients` clips, then
  `TFOptimizer._backend_update_step` all-reduces), so under MirroredStrategy each replica's
  partial gradient is clipped to norm 1.0 on its own and the update differs from a single
  device's. `BertAdamW` / `BertLamb` defer the clip until after the all-reduce, which makes
  the update identical to the single-device one (tests/test_train_distributed.py checks it).
- Keras 3.15's TF optimizers apply an `IndexedSlices` gradient (what gathering embedding rows
  gives) row by row with `scatter_add`. When an index repeats — BERT's two segment embeddings
  are gathered batch x sequence times — Adam's moments receive one term per repeat instead of
  the moments of the summed row, and global-norm clipping counts each repeat as a separate
  vector: the update is wrong (for the segment embeddings, several times too large). `BertAdamW`
  / `BertLamb` turn such gradients into dense tensors first (static shapes, so XLA is fine),
  which is also what the JAX backend always computes.
- `BertLamb`: `keras.optimizers.Lamb` applies weight decay outside the trust ratio and adapts
  every variable. LAMB as published (and as used for BERT in 76 minutes) adds the decay to the
  update *before* the trust ratio and skips layer adaptation for LayerNorm and bias, which is
  what this subclass changes.
"""

from __future__ import annotations

import keras
from keras import ops

#: Substrings of variable paths that BERT never decays (LayerNorm gamma/beta and biases).
NO_DECAY_PATTERNS = ("layernorm", "layer_norm", "layernormalization", "bias")


@keras.saving.register_keras_serializable(package="bert_tf")
class BertSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup to `peak_learning_rate` over `warmup_steps`, then linear decay to
    `end_learning_rate` at `total_steps`.

    Steps count optimizer *updates*. Keras passes the micro-batch counter to schedules, so
    when gradients are accumulated over `accumulation_steps` micro-batches the schedule
    divides by it.
    """

    def __init__(
        self,
        peak_learning_rate: float,
        total_steps: int,
        warmup_steps: int = 0,
        end_learning_rate: float = 0.0,
        accumulation_steps: int = 1,
    ):
        if total_steps <= 0:
            raise ValueError(f"total_steps must be positive, got {total_steps}")
        if not 0 <= warmup_steps <= total_steps:
            raise ValueError(
                f"warmup_steps must be in [0, total_steps={total_steps}], got {warmup_steps}"
            )
        self.peak_learning_rate = float(peak_learning_rate)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.end_learning_rate = float(end_learning_rate)
        self.accumulation_steps = int(accumulation_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        if self.accumulation_steps > 1:
            step = ops.floor(step / self.accumulation_steps)
        peak, end = self.peak_learning_rate, self.end_learning_rate
        warmup = float(max(self.warmup_steps, 1))
        # BERT's warmup: the first update uses peak * 1/warmup, i.e. (step + 1) / warmup.
        warm = peak * ops.minimum((step + 1.0) / warmup, 1.0)
        decay_len = float(max(self.total_steps - self.warmup_steps, 1))
        frac = ops.clip((step - self.warmup_steps) / decay_len, 0.0, 1.0)
        decayed = end + (peak - end) * (1.0 - frac)
        return ops.where(step < self.warmup_steps, warm, decayed)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "end_learning_rate": self.end_learning_rate,
            "accumulation_steps": self.accumulation_steps,
        }


def is_no_decay(variable) -> bool:
    """True for LayerNorm parameters and biases (BERT never decays them)."""
    path = getattr(variable, "path", variable.name).lower()
    return any(p in path for p in NO_DECAY_PATTERNS)


def no_decay_variables(model) -> list:
    """The trainable variables of `model` that BERT excludes from weight decay.

    LayerNorm layers are found by type (any `keras.layers.LayerNormalization`, or a layer
    whose class name contains "LayerNorm"), biases by name.
    """
    excluded = {}
    for layer in model._flatten_layers(include_self=True, recursive=True):
        cls = type(layer).__name__.lower()
        if isinstance(layer, keras.layers.LayerNormalization) or "layernorm" in cls:
            for v in layer.trainable_variables:
                excluded[id(v)] = v
    for v in model.trainable_variables:
        if is_no_decay(v):
            excluded[id(v)] = v
    return list(excluded.values())


def _deferred_clip(optimizer) -> bool:
    """True when gradients must be clipped after the all-reduce (TF, >1 replica)."""
    if keras.backend.backend() != "tensorflow" or not optimizer.global_clipnorm:
        return False
    import tensorflow as tf

    return (
        tf.distribute.has_strategy()
        and tf.distribute.get_replica_context() is not None
        and tf.distribute.get_strategy().num_replicas_in_sync > 1
    )


def _dense_gradients(grads):
    """`IndexedSlices` -> dense tensors on TensorFlow (repeated indices summed; see module doc)."""
    if keras.backend.backend() != "tensorflow":
        return grads
    import tensorflow as tf

    return [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads]


class _ClipAfterAllReduce:
    """Global-norm clipping of the *summed* gradients under tf.distribute, and dense gradients
    for gathered rows (see module doc)."""

    def apply(self, grads, trainable_variables=None):
        return super().apply(_dense_gradients(list(grads)), trainable_variables)

    def _clip_gradients(self, grads):
        if _deferred_clip(self):
            return grads  # clipped in _backend_update_step, after the all-reduce
        return super()._clip_gradients(grads)

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        if not _deferred_clip(self):
            return super()._backend_update_step(grads, trainable_variables, learning_rate)
        import tensorflow as tf

        variables = [v.value if isinstance(v, keras.Variable) else v for v in trainable_variables]
        reduced = self._all_reduce_sum_gradients(list(zip(grads, variables, strict=True)))
        clipped = super()._clip_gradients([g for g, _ in reduced])
        tf.__internal__.distribute.interim.maybe_merge_call(
            self._distributed_tf_update_step,
            self._distribution_strategy,
            list(zip(clipped, variables, strict=True)),
            learning_rate,
        )


@keras.saving.register_keras_serializable(package="bert_tf")
class BertAdamW(_ClipAfterAllReduce, keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` whose global-norm clipping sees the all-reduced gradients."""


@keras.saving.register_keras_serializable(package="bert_tf")
class BertLamb(_ClipAfterAllReduce, keras.optimizers.Lamb):
    """LAMB as in You et al. (2019): decay inside the trust ratio, no layer adaptation
    (ratio 1) for excluded variables (LayerNorm, bias)."""

    def __init__(self, *args, bert_weight_decay: float = 0.01, **kwargs):
        kwargs.pop("weight_decay", None)  # we apply decay ourselves, inside the update
        super().__init__(*args, weight_decay=None, **kwargs)
        self.bert_weight_decay = float(bert_weight_decay)
        self._no_adapt = set()

    def exclude_from_layer_adaptation(self, var_list):
        """Variables that get no weight decay and a trust ratio of 1."""
        self._no_adapt = {self._var_key(v) for v in var_list}

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        local_step = ops.cast(self.iterations + 1, variable.dtype)
        b1 = ops.cast(self.beta_1, variable.dtype)
        b2 = ops.cast(self.beta_2, variable.dtype)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        m_hat = ops.divide(m, 1.0 - ops.power(b1, local_step))
        v_hat = ops.divide(v, 1.0 - ops.power(b2, local_step))
        update = ops.divide(m_hat, ops.add(ops.sqrt(v_hat), self.epsilon))
        if self._var_key(variable) in self._no_adapt:
            self.assign_sub(variable, lr * update)
            return
        if self.bert_weight_decay:
            update = update + self.bert_weight_decay * variable
        w_norm = ops.sqrt(ops.sum(ops.square(variable)))
        u_norm = ops.sqrt(ops.sum(ops.square(update)))
        ratio = ops.where(
            ops.greater(w_norm, 0),
            ops.where(ops.greater(u_norm, 0), w_norm / ops.maximum(u_norm, 1e-30), 1.0),
            1.0,
        )
        self.assign_sub(variable, ratio * lr * update)

    def get_config(self):
        config = super().get_config()
        config["bert_weight_decay"] = self.bert_weight_decay
        config.pop("weight_decay", None)
        return config


def create_optimizer(
    model,
    *,
    learning_rate: float,
    total_steps: int,
    warmup_steps: int = 0,
    optimizer: str = "adamw",
    weight_decay: float = 0.01,
    clipnorm: float | None = 1.0,
    accumulation_steps: int = 1,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-6,
):
    """The BERT optimizer for `model` (built, so its variables exist).

    `optimizer` is "adamw" (BERT) or "lamb" (large batches). `total_steps`/`warmup_steps`
    count optimizer updates; `accumulation_steps` > 1 sums gradients of that many
    micro-batches into one update (an effective batch `accumulation_steps` times larger).
    """
    if accumulation_steps < 1:
        raise ValueError(f"accumulation_steps must be >= 1, got {accumulation_steps}")
    schedule = BertSchedule(
        learning_rate, total_steps, warmup_steps, accumulation_steps=accumulation_steps
    )
    common = dict(
        learning_rate=schedule,
        beta_1=beta_1,
        beta_2=beta_2,
        epsilon=epsilon,
        global_clipnorm=clipnorm,
        gradient_accumulation_steps=accumulation_steps if accumulation_steps > 1 else None,
    )
    excluded = no_decay_variables(model)
    if optimizer == "adamw":
        opt = BertAdamW(weight_decay=weight_decay, **common)
        if excluded:
            opt.exclude_from_weight_decay(var_list=excluded)
    elif optimizer == "lamb":
        opt = BertLamb(bert_weight_decay=weight_decay, **common)
        opt.exclude_from_layer_adaptation(excluded)
    else:
        raise ValueError(f"unknown optimizer {optimizer!r}: use 'adamw' or 'lamb'")
    return opt
