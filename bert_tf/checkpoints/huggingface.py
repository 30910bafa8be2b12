"""Hugging Face BERT directories: `config.json` + `model.safetensors` (or sharded safetensors).

PyTorch `.bin` files are pickles and are never opened. Linear weights are (out, in) in
PyTorch and are transposed to Keras' (in, out).
"""

from __future__ import annotations

import json
import os
import re

import numpy as np

from bert_tf.checkpoints.names import Tensor
from bert_tf.config import BertConfig
from bert_tf.errors import CheckpointError

# Tensors that are not weights or that repeat another one.
_IGNORED = re.compile(r"(^|\.)(position_ids|cls\.predictions\.decoder\.(weight|bias))$")


def safetensors_files(directory: str) -> list[str]:
    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index, encoding="utf-8") as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
        return [os.path.join(directory, s) for s in shards]
    single = os.path.join(directory, "model.safetensors")
    if os.path.exists(single):
        return [single]
    if any(os.path.exists(os.path.join(directory, n)) for n in ("pytorch_model.bin", "tf_model.h5")):
        raise CheckpointError(
            f"{directory}: has no model.safetensors; PyTorch .bin files are pickles and are never "
            "loaded. Convert it to safetensors first (e.g. transformers' save_pretrained(..., "
            "safe_serialization=True)).")
    raise CheckpointError(f"{directory}: no model.safetensors found")


def read_safetensors(paths: list[str]) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    tensors = {}
    for path in paths:
        try:
            tensors.update(load_file(path))
        except Exception as err:  # safetensors raises its own error types
            raise CheckpointError(f"{path}: cannot read safetensors file ({err})") from None
    return tensors


def hf_name(canonical: str) -> tuple[str, bool]:
    """Canonical (Google) name -> (Hugging Face name without the `bert.` prefix, transposed?)."""
    name = canonical
    name = re.sub(r"^bert/encoder/layer_(\d+)/", r"encoder/layer/\1/", name)
    name = name.removeprefix("bert/")
    transposed = name.endswith("/kernel")
    special = {
        "embeddings/word_embeddings": "embeddings/word_embeddings/weight",
        "embeddings/token_type_embeddings": "embeddings/token_type_embeddings/weight",
        "embeddings/position_embeddings": "embeddings/position_embeddings/weight",
        "cls/predictions/output_bias": "cls/predictions/bias",
        "cls/seq_relationship/output_weights": "cls/seq_relationship/weight",
        "cls/seq_relationship/output_bias": "cls/seq_relationship/bias",
    }
    name = special.get(name, name)
    name = re.sub(r"/kernel$", "/weight", name)
    name = re.sub(r"/gamma$", "/weight", name)
    name = re.sub(r"/beta$", "/bias", name)
    return name.replace("/", "."), transposed


def read_config(directory: str) -> BertConfig:
    return BertConfig.from_json(os.path.join(directory, "config.json"))


def read(directory: str, canonical_names) -> tuple[dict[str, Tensor], list[str]]:
    """Returns the canonical tensors found and the file's unused tensor names."""
    raw = read_safetensors(safetensors_files(directory))
    # BertModel files have bare names; BertForPreTraining & co. prefix the encoder with "bert.".
    prefix = "bert." if any(k.startswith("bert.") for k in raw) else ""
    found, used = {}, set()
    for canonical in canonical_names:
        name, transposed = hf_name(canonical)
        if not name.startswith("cls."):
            name = prefix + name
        candidates = [name]
        if name.endswith("LayerNorm.weight"):  # older files say gamma/beta
            candidates.append(name[: -len("weight")] + "gamma")
        if name.endswith("LayerNorm.bias"):
            candidates.append(name[: -len("bias")] + "beta")
        for candidate in candidates:
            if candidate in raw:
                array = raw[candidate]
                found[canonical] = Tensor(array.T if transposed else array, candidate, transposed)
                used.add(candidate)
                break
    unused = [k for k in raw if k not in used and not _IGNORED.search(k)]
    return found, unused
