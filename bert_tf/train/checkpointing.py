"""Training checkpoints: periodic, atomic, keep the last N, resume after `kill -9`.

A checkpoint is a directory `ckpt-00001000/` (the optimizer step, zero-padded) holding

- `model.safetensors`: every model variable (weights and RNG seed states),
- `optimizer.safetensors`: every optimizer variable (step counter, moments, accumulators,
  loss scale), so the learning-rate schedule continues from the restored step,
- `state.json`: step, variable paths and shapes, and whatever the caller adds (config, args).

It is written under a temporary name and renamed into place, so a checkpoint directory that
exists is complete; a kill during the write leaves only a `.tmp-*` directory, which the next
run removes. Tensors are stored with safetensors (loading never unpickles). Only the chief
writes; every worker restores. Works on the TensorFlow and JAX backends, with or without a
distribution strategy (variables are read and assigned through Keras).
"""

from __future__ import annotations

import json
import os
import re
import shutil

import numpy as np

from bert_tf.errors import CheckpointError

_NAME = re.compile(r"^ckpt-(\d{8})$")


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _to_numpy(variable) -> np.ndarray:
    value = variable.value if hasattr(variable, "value") else variable
    try:
        arr = np.asarray(value)
    except TypeError:  # tf distributed values
        arr = value.numpy()
    return np.asarray(arr, order="C")


def _save_tensors(variables, path: str) -> list:
    from safetensors.numpy import save_file

    tensors, meta = {}, []
    for i, v in enumerate(variables):
        arr = _to_numpy(v)
        key = f"{i:05d}"
        tensors[key] = arr
        meta.append({"path": getattr(v, "path", v.name), "shape": list(arr.shape),
                     "dtype": str(arr.dtype)})
    save_file(tensors, path)
    with open(path, "rb+") as f:
        os.fsync(f.fileno())
    return meta


def _load_tensors(variables, path: str, meta: list, what: str, where: str) -> None:
    from safetensors.numpy import load_file

    variables = list(variables)
    if len(meta) != len(variables):
        raise CheckpointError(
            f"{where}: holds {len(meta)} {what} tensors but this model has {len(variables)}; "
            "the checkpoint was made with another config"
        )
    for v, m in zip(variables, meta, strict=True):
        shape = tuple(v.shape)
        if tuple(m["shape"]) != shape:
            raise CheckpointError(
                f"{where}: {what} tensor '{m['path']}' has shape {tuple(m['shape'])} but "
                f"'{getattr(v, 'path', v.name)}' expects {shape}; "
                "the checkpoint was made with another config"
            )
    tensors = load_file(path)
    for i, v in enumerate(variables):
        v.assign(tensors[f"{i:05d}"].astype(np.dtype(v.dtype)) if _is_float(v) else
                 tensors[f"{i:05d}"])


def _is_float(v) -> bool:
    return "float" in str(v.dtype)


def optimizer_variables(optimizer) -> list:
    return list(optimizer.variables)


class CheckpointManager:
    """Save and restore (model, optimizer) at an optimizer step in `directory`."""

    def __init__(self, directory: str, keep: int = 3, is_chief: bool = True):
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        self.directory = directory
        self.keep = keep
        self.is_chief = is_chief

    # -- listing ---------------------------------------------------------------------------
    def steps(self) -> list[int]:
        """Steps of the complete checkpoints, oldest first."""
        if not os.path.isdir(self.directory):
            return []
        out = []
        for name in os.listdir(self.directory):
            m = _NAME.match(name)
            if m and os.path.exists(os.path.join(self.directory, name, "state.json")):
                out.append(int(m.group(1)))
        return sorted(out)

    def path(self, step: int) -> str:
        return os.path.join(self.directory, f"ckpt-{step:08d}")

    def latest_step(self) -> int | None:
        steps = self.steps()
        return steps[-1] if steps else None

    def remove_partial(self) -> None:
        """Delete leftovers of writes that were killed (chief only)."""
        if not self.is_chief or not os.path.isdir(self.directory):
            return
        for name in os.listdir(self.directory):
            if ".tmp-" in name:
                shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)

    # -- save / restore --------------------------------------------------------------------
    def save(self, step: int, model, optimizer, extra: dict | None = None) -> str | None:
        """Write checkpoint `step` atomically and prune to the last `keep`. Returns its path
        (None on non-chief workers, which write nothing)."""
        # Every worker reads the variables (cheap, local); only the chief writes.
        if not self.is_chief:
            return None
        os.makedirs(self.directory, exist_ok=True)
        final = self.path(step)
        tmp = f"{final}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        model_meta = _save_tensors(model.variables, os.path.join(tmp, "model.safetensors"))
        opt_meta = _save_tensors(
            optimizer_variables(optimizer), os.path.join(tmp, "optimizer.safetensors")
        )
        state = {"step": int(step), "model": model_meta, "optimizer": opt_meta}
        state.update(extra or {})
        with open(os.path.join(tmp, "state.json"), "w") as f:
            json.dump(state, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(tmp)
        if os.path.exists(final):  # re-saving the same step (e.g. the final one)
            old = f"{final}.tmp-old-{os.getpid()}"
            os.rename(final, old)
            os.rename(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, final)
        _fsync_dir(self.directory)
        for old_step in self.steps()[: -self.keep]:
            shutil.rmtree(self.path(old_step), ignore_errors=True)
        return final

    def read_state(self, step: int) -> dict:
        where = self.path(step)
        try:
            with open(os.path.join(where, "state.json")) as f:
                return json.load(f)
        except (OSError, json.JSONDecodeError) as err:
            raise CheckpointError(f"{where}/state.json: cannot read ({err})") from None

    def restore(self, step: int, model, optimizer) -> dict:
        """Load checkpoint `step` into the built `model` and `optimizer`; returns its state."""
        where = self.path(step)
        state = self.read_state(step)
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        _load_tensors(model.variables, os.path.join(where, "model.safetensors"),
                      state["model"], "model", where)
        _load_tensors(optimizer_variables(optimizer), os.path.join(where, "optimizer.safetensors"),
                      state["optimizer"], "optimizer", where)
        return state
