"""`BertConfig`: every number that fixes the shape of a BERT model, in one dataclass.

The presets follow the sizes Google released (BERT-Tiny ... BERT-Large): `hidden_size / 64`
heads and a feed-forward layer `4 * hidden_size` wide.

`from_json` reads three dialects of the same information:
- our own `to_json` output (field names of this class, activation spelled out),
- the original Google `bert_config.json` (`hidden_act: "gelu"` there is the *tanh approximation*),
- a Hugging Face `config.json` (`model_type: "bert"`; its `"gelu"` is the *exact erf* form).
The activation is always stored explicitly ("gelu_approximate" or "gelu_exact") so that a
config never changes meaning when it moves between formats.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from bert_tf.errors import CheckpointError
from bert_tf.io import write_atomic

ACTIVATIONS = ("gelu_approximate", "gelu_exact", "relu", "tanh", "silu")

# (num_layers, hidden_size) for each preset; heads and intermediate size follow from them.
PRESETS = {
    "tiny": (2, 128),
    "mini": (4, 256),
    "small": (4, 512),
    "medium": (8, 512),
    "base": (12, 768),
    "large": (24, 1024),
}

# What each format's activation names mean, mapped onto our explicit names.
_GOOGLE_ACTIVATIONS = {"gelu": "gelu_approximate", "relu": "relu", "tanh": "tanh"}
_HF_ACTIVATIONS = {
    "gelu": "gelu_exact",
    "gelu_new": "gelu_approximate",
    "gelu_pytorch_tanh": "gelu_approximate",
    "gelu_fast": "gelu_approximate",
    "relu": "relu",
    "tanh": "tanh",
    "silu": "silu",
    "swish": "silu",
}

# Original/HF key -> our field name.
_ORIGINAL_KEYS = {
    "vocab_size": "vocab_size",
    "hidden_size": "hidden_size",
    "num_hidden_layers": "num_layers",
    "num_attention_heads": "num_heads",
    "intermediate_size": "intermediate_size",
    "max_position_embeddings": "max_position_embeddings",
    "type_vocab_size": "type_vocab_size",
    "hidden_dropout_prob": "hidden_dropout",
    "attention_probs_dropout_prob": "attention_dropout",
    "initializer_range": "initializer_range",
    "layer_norm_eps": "layer_norm_epsilon",
}


@dataclasses.dataclass
class BertConfig:
    vocab_size: int = 30522
    hidden_size: int = 768
    num_layers: int = 12
    num_heads: int = 12
    intermediate_size: int = 3072
    max_position_embeddings: int = 512
    type_vocab_size: int = 2  # number of segments (sentence A / sentence B)
    hidden_dropout: float = 0.1
    attention_dropout: float = 0.1
    activation: str = "gelu_approximate"  # what the original Google BERT used
    layer_norm_epsilon: float = 1e-12
    initializer_range: float = 0.02

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"BertConfig: unknown activation {self.activation!r}; expected one of {ACTIVATIONS}"
            )
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"BertConfig: hidden_size {self.hidden_size} is not a multiple of "
                f"num_heads {self.num_heads}"
            )
        for name in ("vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size",
                     "max_position_embeddings", "type_vocab_size"):
            if int(getattr(self, name)) <= 0:
                raise ValueError(f"BertConfig: {name} must be positive, got {getattr(self, name)}")

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_heads

    # ---- presets -------------------------------------------------------------------------
    @classmethod
    def preset(cls, name: str, **overrides) -> BertConfig:
        """A named size, e.g. `BertConfig.preset("mini", vocab_size=8000)`."""
        if name not in PRESETS:
            raise ValueError(f"unknown BERT preset {name!r}; choose from {sorted(PRESETS)}")
        layers, hidden = PRESETS[name]
        values = dict(num_layers=layers, hidden_size=hidden, num_heads=hidden // 64,
                      intermediate_size=4 * hidden)
        values.update(overrides)
        return cls(**values)

    # ---- dicts and JSON ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config") -> BertConfig:
        """Accepts our own keys, original Google keys or Hugging Face keys (see module doc)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        if "hidden_act" not in values and "num_hidden_layers" not in values:
            unknown = set(values) - fields - {"format"}
            if unknown:
                raise CheckpointError(f"{source}: unknown BertConfig keys {sorted(unknown)}")
            return cls(**{k: v for k, v in values.items() if k in fields})

        # Original Google or Hugging Face keys. Hugging Face configs say `model_type`.
        is_hf = "model_type" in values
        if is_hf and values["model_type"] != "bert":
            raise CheckpointError(
                f"{source}: model_type is {values['model_type']!r}, only 'bert' is supported"
            )
        if values.get("position_embedding_type", "absolute") != "absolute":
            raise CheckpointError(
                f"{source}: position_embedding_type {values['position_embedding_type']!r} "
                "is not supported (only 'absolute', as in the original BERT)"
            )
        missing = [k for k in _ORIGINAL_KEYS if k not in values and k not in (
            "layer_norm_eps", "initializer_range", "type_vocab_size",
            "hidden_dropout_prob", "attention_probs_dropout_prob")]
        if missing:
            raise CheckpointError(f"{source}: missing keys {missing}")
        out = {ours: values[theirs] for theirs, ours in _ORIGINAL_KEYS.items() if theirs in values}
        act = values.get("hidden_act", "gelu")
        table = _HF_ACTIVATIONS if is_hf else _GOOGLE_ACTIVATIONS
        if act not in table:
            raise CheckpointError(f"{source}: unsupported hidden_act {act!r}")
        out["activation"] = table[act]
        return cls(**out)

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """Our own JSON (explicit activation). Writes `path` atomically when given."""
        text = json.dumps({"format": "bert_tf", **self.to_dict()}, indent=2) + "\n"
        if path is not None:
            write_atomic(path, text)
        return text

    @classmethod
    def from_json(cls, path_or_text: str | os.PathLike) -> BertConfig:
        """Read a JSON file (or a JSON string) in any of the three dialects."""
        text, source = str(path_or_text), "config"
        if not text.lstrip().startswith("{"):
            source = text
            try:
                with open(text, encoding="utf-8") as f:
                    text = f.read()
            except OSError as err:
                raise CheckpointError(f"{source}: cannot read config ({err.strerror})") from None
        try:
            values = json.loads(text)
        except json.JSONDecodeError as err:
            raise CheckpointError(f"{source}: invalid JSON at line {err.lineno}: {err.msg}") from None
        if not isinstance(values, dict):
            raise CheckpointError(f"{source}: expected a JSON object")
        return cls.from_dict(values, source=source)
