"""Reading and writing BERT checkpoints in four formats.

| format      | what is in the directory                                   | module            |
|-------------|------------------------------------------------------------|-------------------|
| `bert_tf`   | `config.json` (`"format": "bert_tf"`) + `model.safetensors` | `native`          |
| `huggingface` | `config.json` (`model_type: bert`) + `model.safetensors`  | `huggingface`     |
| `google`    | `bert_config.json` + `bert_model.ckpt.{index,data-*}`      | `google`          |
| `keras_hub` | keras-hub `config.json` (`BertBackbone`) + `model.weights.h5` | `keras_hub_preset` |

Each reader returns tensors under canonical names (see `names.py`); `assign` copies them into
a model, checking every name and shape first, so a bad file changes nothing.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from bert_tf.checkpoints import names
from bert_tf.errors import CheckpointError

FORMATS = ("bert_tf", "huggingface", "google", "keras_hub")


def detect_format(path) -> str:
    """Which of FORMATS `path` is, or a CheckpointError saying what was found."""
    from bert_tf.checkpoints import keras_hub_preset, native

    path = os.fspath(path)
    if not os.path.isdir(path):
        if os.path.exists(path + ".index"):  # a TF checkpoint prefix, e.g. .../bert_model.ckpt
            return "google"
        raise CheckpointError(f"{path}: not a checkpoint directory")
    if native.is_native(path):
        return "bert_tf"
    if keras_hub_preset.is_keras_hub_preset(path):
        return "keras_hub"
    if os.path.exists(os.path.join(path, "config.json")):
        return "huggingface"
    if os.path.exists(os.path.join(path, "bert_config.json")):
        return "google"
    found = ", ".join(sorted(os.listdir(path))[:10]) or "nothing"
    raise CheckpointError(
        f"{path}: unknown checkpoint format (expected config.json or bert_config.json; "
        f"found {found})")


def _module(fmt):
    import importlib

    modules = {"bert_tf": "native", "huggingface": "huggingface", "google": "google",
               "keras_hub": "keras_hub_preset"}
    if fmt not in modules:
        raise CheckpointError(f"unknown checkpoint format {fmt!r}; expected one of {FORMATS}")
    return importlib.import_module(f"bert_tf.checkpoints.{modules[fmt]}")


def read_checkpoint(path, fmt: str | None = None):
    """(format, BertConfig, {canonical name: Tensor}, unused names) for any supported format."""
    path = os.fspath(path)
    fmt = fmt or detect_format(path)
    module = _module(fmt)
    config = module.read_config(path)
    tensors, unused = module.read(path, names.canonical_names(config.num_layers))
    return fmt, config, tensors, unused


def assign(model, tensors: dict, source: str, unused=()) -> None:
    """Copy canonical `tensors` into `model` (a BertModel or BertPretrainer).

    Every shape is checked before anything is written. Missing encoder tensors are an error;
    a missing pooler or pretraining head is left as initialised, with a warning.
    """
    if not model.built:
        model.build()
    variables = names.model_variables(model)
    missing = [n for n in variables if n not in tensors and not names.is_optional(n)]
    if missing:
        raise CheckpointError(
            f"{source}: missing {len(missing)} tensor(s) the model needs, e.g. {missing[0]!r}"
            + (f" (found {len(tensors)} BERT tensors)" if tensors else " (no BERT tensors found)"))
    values = {}
    for name, (variable, transposed) in variables.items():
        if name not in tensors:
            continue
        tensor = tensors[name]
        expected = tuple(variable.shape)[::-1] if transposed else tuple(variable.shape)
        got = tuple(tensor.array.shape)
        if got != expected:
            if tensor.source_transposed:
                got, expected = got[::-1], expected[::-1]
            raise CheckpointError(
                f"{source}: tensor {tensor.source_name!r} has shape {got} but the model's "
                f"{variable.path!r} needs {expected}")
        array = tensor.array.T if transposed else tensor.array
        values[name] = np.asarray(array, dtype=variable.dtype)
    for name, (variable, _) in variables.items():
        if name in values:
            variable.assign(values[name])
    skipped = [n for n in variables if n not in tensors]
    if skipped:
        warnings.warn(f"{source}: no weights for {', '.join(skipped)}; left as initialised",
                      stacklevel=3)
    # Tensors the model has no place for (e.g. extra layers) are reported; pretraining heads
    # are dropped silently when loading just the encoder.
    unused = list(unused) + [tensors[n].source_name for n in tensors if n not in variables]
    if not hasattr(model, "mlm_head"):
        unused = [n for n in unused if not n.startswith(("cls/", "cls."))]
    if unused:
        warnings.warn(f"{source}: ignored {len(unused)} tensor(s) this model has no place "
                      f"for, e.g. {unused[0]!r}", stacklevel=3)


def load_into(model, path, fmt: str | None = None) -> str:
    """Load a checkpoint into an existing model; returns the detected format."""
    if not model.built:
        model.build()
    fmt, _, tensors, unused = read_checkpoint(path, fmt)
    assign(model, tensors, os.fspath(path), unused)
    return fmt


def load_pretrained(cls, path, config=None, fmt: str | None = None, **kwargs):
    """Build `cls` (BertModel or BertPretrainer) from the checkpoint's config and load it."""
    fmt, file_config, tensors, unused = read_checkpoint(path, fmt)
    model = cls(config or file_config, **kwargs)
    assign(model, tensors, os.fspath(path), unused)
    return model


def model_arrays(model) -> dict[str, np.ndarray]:
    """Canonical name -> numpy array (canonical layout) for every weight of `model`."""
    import keras

    if not model.built:
        model.build()
    arrays = {}
    for name, (variable, transposed) in names.model_variables(model).items():
        array = keras.ops.convert_to_numpy(variable).astype(np.float32)
        arrays[name] = array.T if transposed else array
    return arrays


def save_pretrained(model, directory, overwrite: bool = True) -> None:
    """Write `model` (BertModel or BertPretrainer) in the library's own format."""
    from bert_tf.checkpoints import native

    native.write(directory, model.config, model_arrays(model), overwrite=overwrite)


def convert(source, output, fmt: str | None = None, overwrite: bool = False) -> dict:
    """Read any supported checkpoint and write it in the library's own format.

    The weights go through a real model (a BertPretrainer when the file has pretraining
    heads, else a BertModel), so every name and shape is checked on the way.
    """
    from bert_tf.models.bert import BertModel
    from bert_tf.models.pretrainer import BertPretrainer

    fmt, config, tensors, unused = read_checkpoint(source, fmt)
    has_heads = any(n.startswith("cls/") for n in tensors)
    model = (BertPretrainer if has_heads else BertModel)(config)
    assign(model, tensors, os.fspath(source), unused)
    save_pretrained(model, output, overwrite=overwrite)
    return {"format": fmt, "config": config, "tensors": len(tensors), "heads": has_heads,
            "unused": list(unused)}
