"""`fit_steps`: Keras `fit` for exactly N optimizer steps, with periodic checkpoints and resume.

Used by `bert-tf pretrain` and `bert-tf finetune`, and by the tests on small models.

- Runs `model.fit` (so `steps_per_execution`, XLA via `jit_compile`, progress bars, the
  distribution strategy and TensorBoard all come from Keras).
- One Keras "epoch" is one checkpoint interval; a callback saves at every multiple of
  `checkpoint_every` optimizer steps and stops training at `total_steps` exactly.
  `steps_per_execution` is reduced to a divisor of the interval when needed, so the step
  counter lands on every checkpoint and on the last step.
- With `resume=True` it restores the latest complete checkpoint (weights, optimizer state,
  step counter, hence the learning-rate schedule) and continues to `total_steps`.
- Appends one JSON line per logged step to `log_path` (step, loss, learning rate, ...).
"""

from __future__ import annotations

import json
import math
import os
import time

import keras

from bert_tf.train.checkpointing import CheckpointManager


def optimizer_step(optimizer) -> int:
    """Optimizer updates done so far (micro-batches / accumulation steps)."""
    return int(keras.ops.convert_to_numpy(optimizer.iterations))


def current_learning_rate(optimizer) -> float:
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    return float(keras.ops.convert_to_numpy(inner.learning_rate))


class CheckpointCallback(keras.callbacks.Callback):
    """Saves every `every` optimizer steps and stops at `total_steps`."""

    def __init__(self, manager: CheckpointManager, every: int, total_steps: int,
                 extra: dict | None = None, log_path: str | None = None, is_chief: bool = True):
        super().__init__()
        self.manager = manager
        self.every = every
        self.total_steps = total_steps
        self.extra = extra or {}
        self.log_path = log_path if is_chief else None
        self.last_saved = None
        self.last_logs: dict = {}
        self._t0 = None
        self._step0 = None
        self._t_first = None
        self._step_first = None
        self.seconds = 0.0
        self.steps_done = 0
        self.bucket = 0  # step // every of the last save
        self._last_logged = None

    def _save(self, step: int) -> None:
        if self.last_saved == step:
            return
        self.manager.save(step, self.model, self.model.optimizer, self.extra)
        self.last_saved = step

    def on_train_begin(self, logs=None):
        if self._t0 is None:  # fit_steps may call fit more than once
            self._t0 = time.perf_counter()
            self._step0 = optimizer_step(self.model.optimizer)

    def on_train_batch_end(self, batch, logs=None):
        opt = self.model.optimizer
        step = optimizer_step(opt)
        if self._t_first is None:  # after the first call: tracing and compilation are done
            self._t_first, self._step_first = time.perf_counter(), step
        logs = {k: float(v) for k, v in (logs or {}).items()}
        self.last_logs = logs
        if self.log_path and step != self._last_logged:  # one line per optimizer update
            self._last_logged = step
            with open(self.log_path, "a") as f:
                f.write(json.dumps({"step": step, "next_lr": current_learning_rate(opt), **logs}) + "\n")
        if step >= self.total_steps:
            self.model.stop_training = True
        # Save on reaching (or, when fp16 loss scaling skipped updates within one compiled
        # call, passing) a multiple of `every`, and at the last step.
        if step // self.every > self.bucket or step >= self.total_steps:
            self._save(step)
            self.bucket = step // self.every

    def on_train_end(self, logs=None):
        step = optimizer_step(self.model.optimizer)
        self._save(step)
        now = time.perf_counter()
        self.steps_done = step - (self._step0 if self._step0 is not None else step)
        self.seconds = now - self._t0
        self.first_call_seconds = (self._t_first or now) - self._t0
        steady = step - (step if self._step_first is None else self._step_first)
        self.steady_steps_per_second = (
            steady / (now - self._t_first) if steady and now > self._t_first else None)


def fit_steps(
    model,
    dataset,
    *,
    total_steps: int,
    output_dir: str,
    checkpoint_every: int = 1000,
    keep: int = 3,
    resume: bool = False,
    steps_per_execution: int = 1,
    accumulation_steps: int = 1,
    placement=None,
    callbacks=(),
    extra_state: dict | None = None,
    make_dataset=None,
    verbose="auto",
):
    """Train the compiled `model` until its optimizer has made `total_steps` updates.

    `dataset` must repeat (the loop draws `accumulation_steps` batches per update);
    alternatively pass `make_dataset(start_step) -> dataset` so a resumed run draws fresh
    data rather than replaying the first batches. Returns a dict with `resumed_from_step`,
    `step`, `steps_done`, `seconds`, `logs` (the last Keras logs) and `checkpoint`.
    The model must be compiled inside `placement.scope()` (a `strategy.Placement`; None
    means no strategy); restoring happens here, in the same scope. Only the chief writes.
    """
    import contextlib

    scope = placement.scope if placement is not None else contextlib.nullcontext
    is_chief = placement.is_chief if placement is not None else True
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    if checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
    if is_chief:
        os.makedirs(output_dir, exist_ok=True)
    ckpt_dir = os.path.join(output_dir, "checkpoints")
    manager = CheckpointManager(ckpt_dir, keep=keep, is_chief=is_chief)
    manager.remove_partial()
    latest = manager.latest_step()
    resumed_from = 0
    if latest is not None and not resume:
        raise FileExistsError(
            f"{ckpt_dir} already holds checkpoints (latest step {latest}); pass --resume to "
            "continue that run or choose another --output"
        )
    if placement is not None:
        from bert_tf.train.strategy import apply_keras_workarounds

        apply_keras_workarounds(model, placement)
    with scope():
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        if resume and latest is not None:
            manager.restore(latest, model, model.optimizer)
            resumed_from = optimizer_step(model.optimizer)
        if resume and latest is not None and resumed_from != latest:
            raise RuntimeError(f"restored step {resumed_from} != checkpoint step {latest}")
    start = resumed_from
    if make_dataset is not None:
        dataset = make_dataset(start)

    log_path = os.path.join(output_dir, "train_log.jsonl")
    ckpt_cb = CheckpointCallback(
        manager, checkpoint_every, total_steps, extra=extra_state,
        log_path=log_path, is_chief=is_chief,
    )
    if start >= total_steps:
        return {"resumed_from_step": resumed_from, "step": start, "steps_done": 0,
                "seconds": 0.0, "first_call_seconds": 0.0, "steady_steps_per_second": None,
                "logs": {}, "checkpoint": manager.path(start)}

    # Keras counts micro-batches; one update = `accumulation_steps` of them.
    micro_every = checkpoint_every * accumulation_steps
    spe = math.gcd(steps_per_execution, micro_every, total_steps * accumulation_steps,
                   start * accumulation_steps or micro_every)
    if model.steps_per_execution != spe:
        model.steps_per_execution = spe
        model.train_function = None  # rebuilt by fit with the new loop length
    initial_epoch = start // checkpoint_every
    epochs = math.ceil(total_steps / checkpoint_every)
    ckpt_cb.bucket = start // checkpoint_every
    ckpt_cb._last_logged = start
    model.fit(
        dataset,
        epochs=epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=micro_every,
        callbacks=[ckpt_cb, *callbacks],
        shuffle=False,  # tf.data input is shuffled by its pipeline
        verbose=verbose,
    )
    step = optimizer_step(model.optimizer)
    # With fp16, LossScaleOptimizer skips updates whose gradients overflow (mostly in the
    # first steps, while it lowers the scale), so the batches ran out before the step count.
    # Top up one batch per call, so the run still ends exactly at `total_steps`.
    while step < total_steps:
        if model.steps_per_execution != 1:
            model.steps_per_execution = 1
            model.train_function = None
        remaining = total_steps - step
        model.fit(
            make_dataset(step) if make_dataset is not None else dataset,
            epochs=1,
            steps_per_epoch=remaining * accumulation_steps,
            callbacks=[ckpt_cb, *callbacks],
            shuffle=False,
            verbose=verbose,
        )
        new = optimizer_step(model.optimizer)
        if new == step:
            raise RuntimeError(
                f"no optimizer update in {remaining * accumulation_steps} batches: the "
                "gradients are not finite (diverged or fp16 overflow at every loss scale)"
            )
        step = new
    return {
        "resumed_from_step": resumed_from,
        "step": step,
        "steps_done": step - start,
        "seconds": ckpt_cb.seconds,
        "first_call_seconds": ckpt_cb.first_call_seconds,
        "steady_steps_per_second": ckpt_cb.steady_steps_per_second,
        "logs": ckpt_cb.last_logs,
        "checkpoint": manager.path(step),
    }
