"""The library's own format: a directory with `config.json` (BertConfig.to_json, explicit
activation, `"format": "bert_tf"`) and `model.safetensors` holding canonical (Google) names
in canonical layouts. Readable from any framework, no pickles, no TensorFlow needed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import numpy as np

from bert_tf.checkpoints.huggingface import read_safetensors
from bert_tf.checkpoints.names import Tensor
from bert_tf.config import BertConfig
from bert_tf.errors import CheckpointError

WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def is_native(directory: str) -> bool:
    path = os.path.join(directory, CONFIG)
    if not os.path.exists(path):
        return False
    with open(path, encoding="utf-8") as f:
        try:
            values = json.load(f)
        except json.JSONDecodeError:
            return False
    return isinstance(values, dict) and values.get("format") == "bert_tf"


def read_config(directory: str) -> BertConfig:
    return BertConfig.from_json(os.path.join(directory, CONFIG))


def read(directory: str, canonical_names) -> tuple[dict[str, Tensor], list[str]]:
    path = os.path.join(directory, WEIGHTS)
    if not os.path.exists(path):
        raise CheckpointError(f"{directory}: {WEIGHTS} is missing")
    raw = read_safetensors([path])
    found = {name: Tensor(raw[name], name) for name in canonical_names if name in raw}
    return found, [k for k in raw if k not in found]


def write(directory: str, config: BertConfig, arrays: dict[str, np.ndarray],
          overwrite: bool = True) -> None:
    """Write atomically: into a temporary directory next to the target, then rename.

    An existing bert_tf checkpoint is replaced only when `overwrite`; any other non-empty
    directory is never touched.
    """
    from safetensors.numpy import save_file

    directory = os.path.abspath(os.fspath(directory))
    parent = os.path.dirname(directory)
    os.makedirs(parent, exist_ok=True)
    if os.path.exists(directory) and os.listdir(directory):
        if not is_native(directory):
            raise CheckpointError(
                f"{directory}: exists and is not a bert_tf checkpoint; refusing to overwrite")
        if not overwrite:
            raise CheckpointError(f"{directory}: already exists (pass overwrite to replace it)")
    tmp = tempfile.mkdtemp(prefix=".bert_tf_tmp_", dir=parent)
    try:
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()},
                  os.path.join(tmp, WEIGHTS), metadata={"format": "bert_tf"})
        config.to_json(os.path.join(tmp, CONFIG))
        if os.path.exists(directory):  # keep the old copy until the new one is in place
            old = tempfile.mkdtemp(prefix=".bert_tf_old_", dir=parent)
            os.replace(directory, os.path.join(old, "checkpoint"))
            os.replace(tmp, directory)
            shutil.rmtree(old)
        else:
            os.replace(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
