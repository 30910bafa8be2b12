"""Checkpoint formats: detection, loading (Google TF1, Hugging Face, keras-hub, bert_tf),
clear errors for bad files, `bert-tf convert`, and no TensorFlow import on JAX."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from bert_helpers import bert_inputs, minilm_dir, tiny_config, to_numpy

from bert_tf.checkpoints import detect_format, read_checkpoint
from bert_tf.cli import main as cli_main
from bert_tf.errors import CheckpointError
from bert_tf.models.bert import BertModel
from bert_tf.models.pretrainer import BertPretrainer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _outputs(model, x):
    return {k: to_numpy(v) for k, v in model(x).items()}


def _assert_same(a, b, atol=1e-5):
    assert set(a) == set(b)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], atol=atol, err_msg=k)


# ---- the library's own format ------------------------------------------------------------

@pytest.mark.multibackend
def test_own_format_round_trip_with_heads(tmp_path):
    model = BertPretrainer(tiny_config(activation="gelu_exact"))
    x = {**bert_inputs(), "masked_positions": np.array([[1, 2], [3, 0], [5, 5]], "int32")}
    model.save_pretrained(tmp_path / "ckpt")
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["config.json", "model.safetensors"]
    assert detect_format(tmp_path / "ckpt") == "bert_tf"
    loaded = BertPretrainer.from_pretrained(tmp_path / "ckpt")
    assert loaded.config == model.config
    _assert_same(_outputs(loaded, x), _outputs(model, x), atol=1e-6)
    # The encoder alone loads from the same files (heads dropped without a fuss).
    bert = BertModel.from_pretrained(tmp_path / "ckpt")
    _assert_same(_outputs(bert, x), _outputs(model.backbone, x), atol=1e-6)
    # Stored under the original Google names and layouts.
    from safetensors.numpy import load_file

    stored = load_file(tmp_path / "ckpt" / "model.safetensors")
    assert stored["cls/seq_relationship/output_weights"].shape == (2, 32)
    np.testing.assert_array_equal(stored["bert/encoder/layer_1/attention/self/query/kernel"],
                                  to_numpy(model.backbone.encoder_layers[1].attention.query.kernel))
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".bert_tf")]  # no temp dirs left


@pytest.mark.multibackend
def test_shape_mismatch_names_the_tensor_and_both_shapes(tmp_path):
    BertModel(tiny_config()).save_pretrained(tmp_path / "ckpt")
    wider = tiny_config(intermediate_size=48)
    with pytest.raises(CheckpointError) as err:
        BertModel.from_pretrained(tmp_path / "ckpt", config=wider)
    message = str(err.value)
    assert "'bert/encoder/layer_0/intermediate/dense/kernel'" in message
    assert "(32, 64)" in message and "(32, 48)" in message
    assert "bert/layer_0/feed_forward/intermediate/kernel" in message  # the model's variable
    # Nothing was half-loaded into an existing model either.
    from bert_tf.checkpoints import load_into

    model = BertModel(wider)
    before = [to_numpy(w).copy() for w in model.weights]
    with pytest.raises(CheckpointError):
        load_into(model, tmp_path / "ckpt")
    for w, b in zip(model.weights, before, strict=True):
        np.testing.assert_array_equal(to_numpy(w), b)


@pytest.mark.multibackend
def test_loading_fewer_layers_warns_about_the_rest(tmp_path):
    BertModel(tiny_config(num_layers=2)).save_pretrained(tmp_path / "ckpt")
    with pytest.warns(UserWarning, match=r"ignored 16 tensor\(s\) this model has no place for.*layer_1"):
        model = BertModel.from_pretrained(tmp_path / "ckpt", config=tiny_config(num_layers=1))
    assert len(model.encoder_layers) == 1


@pytest.mark.multibackend
def test_missing_tensor_and_bad_files_are_clear_errors(tmp_path):
    from safetensors.numpy import load_file, save_file

    ckpt = tmp_path / "ckpt"
    BertModel(tiny_config()).save_pretrained(ckpt)
    tensors = load_file(ckpt / "model.safetensors")
    del tensors["bert/encoder/layer_1/output/LayerNorm/beta"]
    save_file(tensors, ckpt / "model.safetensors")
    with pytest.raises(CheckpointError, match="missing 1 tensor.*layer_1/output/LayerNorm/beta"):
        BertModel.from_pretrained(ckpt)

    (ckpt / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(CheckpointError, match="model.safetensors: cannot read safetensors"):
        BertModel.from_pretrained(ckpt)

    pickled = tmp_path / "hf_bin"
    pickled.mkdir()
    (pickled / "config.json").write_text(json.dumps({**tiny_config().to_dict(), "format": None}))
    (pickled / "config.json").write_text(json.dumps({
        "model_type": "bert", "hidden_act": "gelu", "vocab_size": 97, "hidden_size": 32,
        "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
        "max_position_embeddings": 24}))
    (pickled / "pytorch_model.bin").write_bytes(b"not opened")
    with pytest.raises(CheckpointError, match="never loaded"):
        BertModel.from_pretrained(pickled)

    with pytest.raises(CheckpointError, match="unknown checkpoint format"):
        BertModel.from_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="not a checkpoint directory"):
        BertModel.from_pretrained(tmp_path / "nowhere")

    with pytest.raises(CheckpointError, match="refusing to overwrite"):
        BertModel(tiny_config()).save_pretrained(pickled)


# ---- original Google BERT (TF1) checkpoints -------------------------------------------------

def _google_arrays_from_hf(hf, num_layers):
    """The MiniLM weights under the variable names the original BERT code creates
    (modeling.py / run_pretraining.py), in its (in, out) kernel layout."""
    out = {
        "bert/embeddings/word_embeddings": hf["embeddings.word_embeddings.weight"],
        "bert/embeddings/token_type_embeddings": hf["embeddings.token_type_embeddings.weight"],
        "bert/embeddings/position_embeddings": hf["embeddings.position_embeddings.weight"],
        "bert/embeddings/LayerNorm/gamma": hf["embeddings.LayerNorm.weight"],
        "bert/embeddings/LayerNorm/beta": hf["embeddings.LayerNorm.bias"],
        "bert/pooler/dense/kernel": hf["pooler.dense.weight"].T,
        "bert/pooler/dense/bias": hf["pooler.dense.bias"],
    }
    for i in range(num_layers):
        g, h = f"bert/encoder/layer_{i}", f"encoder.layer.{i}"
        for ours, theirs in [("attention/self/query", "attention.self.query"),
                             ("attention/self/key", "attention.self.key"),
                             ("attention/self/value", "attention.self.value"),
                             ("attention/output/dense", "attention.output.dense"),
                             ("intermediate/dense", "intermediate.dense"),
                             ("output/dense", "output.dense")]:
            out[f"{g}/{ours}/kernel"] = hf[f"{h}.{theirs}.weight"].T
            out[f"{g}/{ours}/bias"] = hf[f"{h}.{theirs}.bias"]
        for ours, theirs in [("attention/output/LayerNorm", "attention.output.LayerNorm"),
                             ("output/LayerNorm", "output.LayerNorm")]:
            out[f"{g}/{ours}/gamma"] = hf[f"{h}.{theirs}.weight"]
            out[f"{g}/{ours}/beta"] = hf[f"{h}.{theirs}.bias"]
    return out


def _write_tf1_checkpoint(prefix, arrays):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        for name, value in arrays.items():
            tf.compat.v1.Variable(value, name=name)
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, prefix, write_meta_graph=False)


def test_google_checkpoint_with_real_weights_matches_keras_hub(tmp_path, capsys):
    """MiniLM's weights written as an original TF1 BERT checkpoint (with optimizer slots and
    pretraining heads), loaded back; Google's "gelu" is the tanh approximation, which is what
    keras-hub's BertBackbone computes, so the two must agree."""
    import keras_hub
    from safetensors.numpy import load_file

    src = minilm_dir()
    hf = load_file(os.path.join(src, "model.safetensors"))
    hf_config = json.load(open(os.path.join(src, "config.json")))
    arrays = _google_arrays_from_hf(hf, hf_config["num_hidden_layers"])
    rng = np.random.default_rng(0)
    heads = {
        "cls/predictions/transform/dense/kernel": rng.normal(0, 0.02, (384, 384)),
        "cls/predictions/transform/dense/bias": rng.normal(0, 0.02, (384,)),
        "cls/predictions/transform/LayerNorm/gamma": 1 + rng.normal(0, 0.02, (384,)),
        "cls/predictions/transform/LayerNorm/beta": rng.normal(0, 0.02, (384,)),
        "cls/predictions/output_bias": rng.normal(0, 0.02, (30522,)),
        "cls/seq_relationship/output_weights": rng.normal(0, 0.02, (2, 384)),
        "cls/seq_relationship/output_bias": rng.normal(0, 0.02, (2,)),
    }
    extras = {"bert/embeddings/LayerNorm/gamma/adam_m": np.zeros(384),
              "global_step": np.array(1000, np.int64)}
    ckpt = tmp_path / "uncased_L-6_H-384_A-12"
    ckpt.mkdir()
    _write_tf1_checkpoint(str(ckpt / "bert_model.ckpt"),
                          {**arrays, **{k: v.astype("float32") for k, v in heads.items()}, **extras})
    google_config = {k: hf_config[k] for k in (
        "attention_probs_dropout_prob", "hidden_act", "hidden_dropout_prob", "hidden_size",
        "initializer_range", "intermediate_size", "max_position_embeddings",
        "num_attention_heads", "num_hidden_layers", "type_vocab_size", "vocab_size")}
    (ckpt / "bert_config.json").write_text(json.dumps(google_config))

    assert detect_format(ckpt) == "google"
    assert detect_format(ckpt / "bert_model.ckpt") == "google"
    model = BertPretrainer.from_pretrained(ckpt)
    assert model.config.activation == "gelu_approximate"
    np.testing.assert_array_equal(to_numpy(model.mlm_head.output_bias),
                                  heads["cls/predictions/output_bias"].astype("float32"))
    np.testing.assert_array_equal(to_numpy(model.nsp_head.kernel),
                                  heads["cls/seq_relationship/output_weights"].T.astype("float32"))

    x = bert_inputs(batch=2, seq=16, vocab=30522, lengths=[16, 9], seed=4)
    reference = keras_hub.models.BertBackbone.from_preset(src)
    expected = _outputs(reference, x)
    got = _outputs(model.backbone, x)
    for k in ("sequence_output", "pooled_output"):
        diff = np.abs(got[k] - expected[k]).max()
        print(f"google ckpt vs keras-hub {k}: max abs diff {diff:.2e}")
        assert diff < 1e-4

    # The CLI converts it to the library's format, heads included, and it loads identically.
    out = tmp_path / "converted"
    assert cli_main(["convert", str(ckpt), str(out)]) == 0
    printed = capsys.readouterr()
    assert "converted google checkpoint" in printed.out and "with MLM/NSP heads" in printed.out
    converted = BertPretrainer.from_pretrained(out)
    positions = np.array([[1, 5], [0, 3]], "int32")
    _assert_same(_outputs(converted, {**x, "masked_positions": positions}),
                 _outputs(model, {**x, "masked_positions": positions}), atol=1e-6)
    assert cli_main(["convert", str(ckpt), str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert cli_main(["convert", str(ckpt), str(out), "--force", "--from", "google"]) == 0


def _cli(*args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "bert_tf", *args], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=300)


def test_convert_cli_errors(tmp_path, capsys):
    """Bad input: one line on stderr, exit status 2, nothing written."""
    result = _cli("convert", "/no/such/dir", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "bert-tf convert: error: /no/such/dir: no such file or directory"]
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("hello")
    assert cli_main(["convert", str(tmp_path / "junk"), str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(
        f"bert-tf convert: error: {tmp_path / 'junk'}: unknown checkpoint format")
    assert not (tmp_path / "out").exists()


# ---- keras-hub presets ------------------------------------------------------------------

@pytest.mark.multibackend
def test_keras_hub_preset_loads_and_matches(tmp_path):
    import keras_hub

    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=97, num_layers=2, num_heads=4, hidden_dim=32, intermediate_dim=64,
        max_sequence_length=24)
    backbone.save_to_preset(str(tmp_path / "preset"))
    assert detect_format(tmp_path / "preset") == "keras_hub"
    model = BertModel.from_pretrained(tmp_path / "preset")
    assert model.config.activation == "gelu_approximate"
    x = bert_inputs()
    expected = _outputs(backbone, x)
    got = _outputs(model, x)
    for k in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(got[k], expected[k], atol=1e-5, err_msg=k)


# ---- Hugging Face directories -------------------------------------------------------------

@pytest.mark.multibackend
def test_hugging_face_directory_detected_and_read():
    src = minilm_dir()
    assert detect_format(src) == "huggingface"
    fmt, config, tensors, unused = read_checkpoint(src)
    assert (fmt, config.num_layers, config.activation) == ("huggingface", 6, "gelu_exact")
    assert not [n for n in tensors if n.startswith("cls/")]  # a bare BertModel: no heads
    assert unused == []
    assert tensors["bert/encoder/layer_0/attention/self/query/kernel"].source_name == (
        "encoder.layer.0.attention.self.query.weight")


def test_jax_backend_never_imports_tensorflow():
    src = minilm_dir()
    code = f"""
import sys
import numpy as np
import bert_tf
from bert_tf import BertModel, BertPretrainer, BertClassifier, BertTokenClassifier, BertSpanQA
import bert_tf.layers, bert_tf.checkpoints, bert_tf.commands.convert
model = BertModel.from_pretrained({src!r})
out = model({{"token_ids": np.array([[101, 7592, 102]]), "padding_mask": np.ones((1, 3))}})
assert out["pooled_output"].shape == (1, 384)
assert "tensorflow" not in sys.modules, "tensorflow was imported"
print("ok", type(out["pooled_output"]).__module__)
"""
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ok jax")
