"""Canonical weight names: the original Google BERT TF1 variable names.

Every checkpoint reader translates its tensors to these names and to Google's layouts
(Dense kernels are (in, out)); the library's own format stores exactly these. So a name
such as `bert/encoder/layer_3/attention/self/query/kernel` means the same everywhere.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass
class Tensor:
    """One tensor read from a checkpoint, already in canonical layout."""

    array: np.ndarray
    source_name: str  # its name in the file, for error messages
    source_transposed: bool = False  # True if the file stores it transposed (PyTorch Linear)


def bert_variables(bert) -> dict[str, tuple]:
    """Canonical name -> (Keras variable, stored transposed?) for a `BertModel`."""
    emb = bert.embeddings
    out = {
        "bert/embeddings/word_embeddings": (emb.word_embeddings, False),
        "bert/embeddings/token_type_embeddings": (emb.segment_embeddings, False),
        "bert/embeddings/position_embeddings": (emb.position_embeddings, False),
        "bert/embeddings/LayerNorm/gamma": (emb.layer_norm.gamma, False),
        "bert/embeddings/LayerNorm/beta": (emb.layer_norm.beta, False),
    }

    def dense(prefix, layer):
        out[f"{prefix}/kernel"] = (layer.kernel, False)
        out[f"{prefix}/bias"] = (layer.bias, False)

    def norm(prefix, layer):
        out[f"{prefix}/gamma"] = (layer.gamma, False)
        out[f"{prefix}/beta"] = (layer.beta, False)

    for i, block in enumerate(bert.encoder_layers):
        p = f"bert/encoder/layer_{i}"
        dense(f"{p}/attention/self/query", block.attention.query)
        dense(f"{p}/attention/self/key", block.attention.key)
        dense(f"{p}/attention/self/value", block.attention.value)
        dense(f"{p}/attention/output/dense", block.attention.output_dense)
        norm(f"{p}/attention/output/LayerNorm", block.attention_norm)
        dense(f"{p}/intermediate/dense", block.feed_forward.intermediate)
        dense(f"{p}/output/dense", block.feed_forward.output_dense)
        norm(f"{p}/output/LayerNorm", block.output_norm)
    dense("bert/pooler/dense", bert.pooler.dense)
    return out


def head_variables(pretrainer) -> dict[str, tuple]:
    """Canonical name -> (variable, transposed?) for the MLM and NSP heads."""
    mlm, nsp = pretrainer.mlm_head, pretrainer.nsp_head
    return {
        "cls/predictions/transform/dense/kernel": (mlm.transform.kernel, False),
        "cls/predictions/transform/dense/bias": (mlm.transform.bias, False),
        "cls/predictions/transform/LayerNorm/gamma": (mlm.layer_norm.gamma, False),
        "cls/predictions/transform/LayerNorm/beta": (mlm.layer_norm.beta, False),
        "cls/predictions/output_bias": (mlm.output_bias, False),
        # Google stores the NSP weights as (2, hidden); our Dense kernel is (hidden, 2).
        "cls/seq_relationship/output_weights": (nsp.kernel, True),
        "cls/seq_relationship/output_bias": (nsp.bias, False),
    }


def model_variables(model) -> dict[str, tuple]:
    """All canonical variables of a BertModel or a BertPretrainer."""
    if hasattr(model, "mlm_head"):
        return {**bert_variables(model.backbone), **head_variables(model)}
    return bert_variables(model)


def canonical_names(num_layers: int, heads: bool = True) -> list[str]:
    """Every canonical name of a BERT with `num_layers` layers (and the pretraining heads)."""
    per_layer = [f"attention/self/{p}/{w}" for p in ("query", "key", "value")
                 for w in ("kernel", "bias")]
    per_layer += ["attention/output/dense/kernel", "attention/output/dense/bias",
                  "attention/output/LayerNorm/gamma", "attention/output/LayerNorm/beta",
                  "intermediate/dense/kernel", "intermediate/dense/bias",
                  "output/dense/kernel", "output/dense/bias",
                  "output/LayerNorm/gamma", "output/LayerNorm/beta"]
    out = ["bert/embeddings/word_embeddings", "bert/embeddings/token_type_embeddings",
           "bert/embeddings/position_embeddings", "bert/embeddings/LayerNorm/gamma",
           "bert/embeddings/LayerNorm/beta"]
    out += [f"bert/encoder/layer_{i}/{n}" for i in range(num_layers) for n in per_layer]
    out += ["bert/pooler/dense/kernel", "bert/pooler/dense/bias"]
    if heads:
        out += ["cls/predictions/transform/dense/kernel", "cls/predictions/transform/dense/bias",
                "cls/predictions/transform/LayerNorm/gamma",
                "cls/predictions/transform/LayerNorm/beta", "cls/predictions/output_bias",
                "cls/seq_relationship/output_weights", "cls/seq_relationship/output_bias"]
    return out


def is_optional(name: str) -> bool:
    """Tensors a checkpoint may lack: the pooler and the pretraining heads (left initialised)."""
    return name.startswith(("bert/pooler/", "cls/"))
