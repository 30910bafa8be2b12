"""keras-hub BERT preset directories (`config.json` naming `BertBackbone`, `model.weights.h5`).

keras-hub builds the backbone and reads its own weights; we then copy them under canonical
names. keras-hub's attention kernels are (hidden, heads, head_size): reshaped to (hidden,
hidden). Its BertBackbone always uses the tanh-approximate GELU and LayerNorm epsilon 1e-12.
"""

from __future__ import annotations

import json
import os

import numpy as np

from bert_tf.checkpoints.names import Tensor
from bert_tf.config import BertConfig
from bert_tf.errors import CheckpointError


def is_keras_hub_preset(directory: str) -> bool:
    path = os.path.join(directory, "config.json")
    if not os.path.exists(path):
        return False
    with open(path, encoding="utf-8") as f:
        try:
            values = json.load(f)
        except json.JSONDecodeError:
            return False
    return isinstance(values, dict) and "class_name" in values and "keras_hub" in str(
        values.get("registered_name", "") or values.get("module", ""))


def read_config(directory: str) -> BertConfig:
    with open(os.path.join(directory, "config.json"), encoding="utf-8") as f:
        spec = json.load(f)
    if spec.get("class_name") != "BertBackbone":
        raise CheckpointError(
            f"{directory}/config.json: keras-hub preset of {spec.get('class_name')!r}, "
            "only 'BertBackbone' is supported")
    c = spec["config"]
    return BertConfig(
        vocab_size=c["vocabulary_size"], hidden_size=c["hidden_dim"], num_layers=c["num_layers"],
        num_heads=c["num_heads"], intermediate_size=c["intermediate_dim"],
        max_position_embeddings=c["max_sequence_length"], type_vocab_size=c["num_segments"],
        hidden_dropout=c["dropout"], attention_dropout=c["dropout"],
        activation="gelu_approximate", layer_norm_epsilon=1e-12)


def read(directory: str, canonical_names) -> tuple[dict[str, Tensor], list[str]]:
    config = read_config(directory)
    import keras_hub

    try:
        backbone = keras_hub.models.BertBackbone.from_preset(directory)
    except Exception as err:
        raise CheckpointError(f"{directory}: keras-hub cannot load this preset ({err})") from None
    tensors = {}

    def put(canonical, variable, shape=None):
        array = np.asarray(keras_hub_value(variable))
        if shape is not None:
            array = array.reshape(shape)
        tensors[canonical] = Tensor(array, variable.path)

    h = config.hidden_size
    put("bert/embeddings/word_embeddings", backbone.get_layer("token_embedding").embeddings)
    put("bert/embeddings/position_embeddings",
        backbone.get_layer("position_embedding").position_embeddings)
    put("bert/embeddings/token_type_embeddings", backbone.get_layer("segment_embedding").embeddings)
    put("bert/embeddings/LayerNorm/gamma", backbone.get_layer("embeddings_layer_norm").gamma)
    put("bert/embeddings/LayerNorm/beta", backbone.get_layer("embeddings_layer_norm").beta)
    for i in range(config.num_layers):
        block = backbone.get_layer(f"transformer_layer_{i}")
        attn = block._self_attention_layer
        p = f"bert/encoder/layer_{i}"
        for ours, theirs in (("query", attn.query_dense), ("key", attn.key_dense),
                             ("value", attn.value_dense)):
            put(f"{p}/attention/self/{ours}/kernel", theirs.kernel, (h, h))
            put(f"{p}/attention/self/{ours}/bias", theirs.bias, (h,))
        put(f"{p}/attention/output/dense/kernel", attn.output_dense.kernel, (h, h))
        put(f"{p}/attention/output/dense/bias", attn.output_dense.bias, (h,))
        put(f"{p}/attention/output/LayerNorm/gamma", block._self_attention_layer_norm.gamma)
        put(f"{p}/attention/output/LayerNorm/beta", block._self_attention_layer_norm.beta)
        put(f"{p}/intermediate/dense/kernel", block._feedforward_intermediate_dense.kernel)
        put(f"{p}/intermediate/dense/bias", block._feedforward_intermediate_dense.bias)
        put(f"{p}/output/dense/kernel", block._feedforward_output_dense.kernel)
        put(f"{p}/output/dense/bias", block._feedforward_output_dense.bias)
        put(f"{p}/output/LayerNorm/gamma", block._feedforward_layer_norm.gamma)
        put(f"{p}/output/LayerNorm/beta", block._feedforward_layer_norm.beta)
    put("bert/pooler/dense/kernel", backbone.get_layer("pooled_dense").kernel)
    put("bert/pooler/dense/bias", backbone.get_layer("pooled_dense").bias)
    wanted = set(canonical_names)
    return {k: v for k, v in tensors.items() if k in wanted}, []


def keras_hub_value(variable):
    import keras

    return keras.ops.convert_to_numpy(variable)
