"""BertConfig: presets, JSON in our own, Google's and Hugging Face's dialects, bad input."""

import json

import pytest

from bert_tf.config import BertConfig
from bert_tf.errors import CheckpointError

GOOGLE_BERT_CONFIG = {  # uncased_L-12_H-768_A-12/bert_config.json, verbatim
    "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 768,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "max_position_embeddings": 512,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "type_vocab_size": 2,
    "vocab_size": 30522,
}


@pytest.mark.parametrize(
    "name, layers, hidden",
    [
        ("tiny", 2, 128),
        ("mini", 4, 256),
        ("small", 4, 512),
        ("medium", 8, 512),
        ("base", 12, 768),
        ("large", 24, 1024),
    ],
)
def test_presets_match_the_released_sizes(name, layers, hidden):
    c = BertConfig.preset(name)
    assert (c.num_layers, c.hidden_size) == (layers, hidden)
    assert c.num_heads == hidden // 64 and c.head_size == 64
    assert c.intermediate_size == 4 * hidden


def test_preset_overrides_and_unknown_preset():
    c = BertConfig.preset("mini", vocab_size=8000, hidden_dropout=0.0)
    assert (c.vocab_size, c.hidden_dropout, c.num_layers) == (8000, 0.0, 4)
    with pytest.raises(ValueError, match="unknown BERT preset 'huge'"):
        BertConfig.preset("huge")


def test_json_round_trip(tmp_path):
    c = BertConfig.preset("small", vocab_size=123, activation="gelu_exact", layer_norm_epsilon=1e-6)
    path = tmp_path / "config.json"
    c.to_json(path)
    assert json.loads(path.read_text())["activation"] == "gelu_exact"
    assert BertConfig.from_json(path) == c
    assert BertConfig.from_json(c.to_json()) == c  # from a JSON string too
    assert not list(tmp_path.glob("*.tmp"))


def test_google_bert_config_gelu_means_tanh_approximation(tmp_path):
    path = tmp_path / "bert_config.json"
    path.write_text(json.dumps(GOOGLE_BERT_CONFIG))
    c = BertConfig.from_json(path)
    assert c == BertConfig.preset("base")
    assert c.activation == "gelu_approximate"
    assert c.layer_norm_epsilon == 1e-12  # the original code hard-codes it


@pytest.mark.parametrize(
    "hidden_act, expected",
    [
        ("gelu", "gelu_exact"),
        ("gelu_new", "gelu_approximate"),
        ("gelu_pytorch_tanh", "gelu_approximate"),
        ("relu", "relu"),
    ],
)
def test_hugging_face_config_gelu_means_exact_erf(hidden_act, expected):
    values = {
        **GOOGLE_BERT_CONFIG,
        "model_type": "bert",
        "hidden_act": hidden_act,
        "layer_norm_eps": 1e-7,
    }
    c = BertConfig.from_dict(values)
    assert c.activation == expected
    assert c.layer_norm_epsilon == 1e-7


def test_real_hugging_face_config():
    from bert_helpers import minilm_dir

    c = BertConfig.from_json(f"{minilm_dir()}/config.json")
    assert (c.num_layers, c.hidden_size, c.num_heads, c.intermediate_size) == (6, 384, 12, 1536)
    assert c.activation == "gelu_exact"


def test_bad_configs_give_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        BertConfig(activation="gelu")  # ambiguous: must say which gelu
    with pytest.raises(ValueError, match="not a multiple of num_heads 5"):
        BertConfig(hidden_size=64, num_heads=5)
    with pytest.raises(ValueError, match="num_layers must be positive"):
        BertConfig(num_layers=0)
    bad = tmp_path / "config.json"
    bad.write_text('{"hidden_size": 8,\n "num_layers": }')
    with pytest.raises(CheckpointError, match=r"config.json: invalid JSON at line 2"):
        BertConfig.from_json(bad)
    with pytest.raises(CheckpointError, match="unknown BertConfig keys \\['hidden_sise'\\]"):
        BertConfig.from_dict({"hidden_sise": 8})
    with pytest.raises(CheckpointError, match="model_type is 'roberta'"):
        BertConfig.from_dict({**GOOGLE_BERT_CONFIG, "model_type": "roberta"})
    with pytest.raises(CheckpointError, match="unsupported hidden_act 'swiglu'"):
        BertConfig.from_dict({**GOOGLE_BERT_CONFIG, "hidden_act": "swiglu"})
    with pytest.raises(CheckpointError, match="cannot read config"):
        BertConfig.from_json(tmp_path / "missing.json")
