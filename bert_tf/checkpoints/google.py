"""Original Google BERT checkpoints: `bert_config.json` + `bert_model.ckpt.{index,data-*}`.

The variable names already are our canonical names, so this is a plain read. TensorFlow is
imported only here, and only when such a checkpoint is actually loaded.
"""

from __future__ import annotations

import glob
import os

from bert_tf.checkpoints.names import Tensor
from bert_tf.config import BertConfig
from bert_tf.errors import CheckpointError


def checkpoint_prefix(path: str) -> str:
    """The checkpoint prefix (`.../bert_model.ckpt`) for a directory or a prefix."""
    if os.path.exists(path + ".index"):
        return path
    indexes = sorted(glob.glob(os.path.join(path, "*.index")))
    if not indexes:
        raise CheckpointError(f"{path}: no TensorFlow checkpoint (*.index) found")
    preferred = [p for p in indexes if os.path.basename(p) == "bert_model.ckpt.index"]
    return (preferred or indexes)[-1][: -len(".index")]


def read_config(path: str) -> BertConfig:
    directory = path if os.path.isdir(path) else os.path.dirname(path)
    return BertConfig.from_json(os.path.join(directory, "bert_config.json"))


def read(path: str, canonical_names) -> tuple[dict[str, Tensor], list[str]]:
    import tensorflow as tf

    prefix = checkpoint_prefix(path)
    try:
        reader = tf.train.load_checkpoint(prefix)
    except Exception as err:
        raise CheckpointError(f"{prefix}: cannot read TensorFlow checkpoint ({err})") from None
    available = reader.get_variable_to_shape_map()
    found = {
        name: Tensor(reader.get_tensor(name), name)
        for name in canonical_names
        if name in available
    }
    # Optimizer slots and step counters are expected leftovers of training.
    unused = [k for k in available if k not in found and not k.endswith(("adam_m", "adam_v"))
              and k != "global_step"]
    return found, unused
