"""Parity with real weights (all-MiniLM-L6-v2, a 6-layer 384-wide BERT) against the reference
implementation of each format, to 1e-4 in float32:

- keras-hub's BertBackbone, which always uses the tanh-approximate GELU -> our model with
  `activation="gelu_approximate"`;
- Hugging Face transformers (PyTorch), whose config says "gelu" = exact erf GELU -> our model
  as `from_pretrained` reads it (`activation="gelu_exact"`).

Run `pytest -s tests/test_parity.py` to see the measured differences.
"""

import dataclasses

import numpy as np
import pytest
from bert_helpers import bert_inputs, minilm_dir, to_numpy

from bert_tf.models.bert import BertModel
from bert_tf.models.pretrainer import BertPretrainer

pytestmark = pytest.mark.multibackend

TOLERANCE = 1e-4


def _inputs():
    """[CLS] a [SEP] b [SEP] with padding, real vocabulary ids."""
    rng = np.random.default_rng(42)
    batch, seq = 3, 24
    lengths = [24, 17, 9]
    token_ids = np.zeros((batch, seq), "int32")
    segment_ids = np.zeros((batch, seq), "int32")
    for i, n in enumerate(lengths):
        words = rng.integers(1996, 29612, n - 3)
        half = len(words) // 2
        token_ids[i, :n] = [101, *words[:half], 102, *words[half:], 102]
        segment_ids[i, half + 2:n] = 1
    padding_mask = (np.arange(seq)[None, :] < np.array(lengths)[:, None]).astype("int32")
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}


def _max_diff(ours, theirs, mask=None):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    if mask is not None:  # compare real tokens only
        ours, theirs = ours[mask.astype(bool)], theirs[mask.astype(bool)]
    return float(np.abs(ours - theirs).max())


@pytest.fixture(scope="module")
def minilm():
    return BertModel.from_pretrained(minilm_dir())


def test_matches_keras_hub_with_approximate_gelu(minilm, backend):
    import keras_hub

    src = minilm_dir()
    config = dataclasses.replace(minilm.config, activation="gelu_approximate")
    ours = BertModel.from_pretrained(src, config=config)
    reference = keras_hub.models.BertBackbone.from_preset(src)
    x = _inputs()
    got, expected = ours(x), reference(x)
    seq = _max_diff(to_numpy(got["sequence_output"]), to_numpy(expected["sequence_output"]),
                    x["padding_mask"])
    pooled = _max_diff(to_numpy(got["pooled_output"]), to_numpy(expected["pooled_output"]))
    print(f"\n[{backend}] vs keras-hub (gelu_approximate): sequence_output {seq:.2e}, "
          f"pooled_output {pooled:.2e}")
    assert seq < TOLERANCE and pooled < TOLERANCE
    # The activation matters: the exact-GELU model (HF semantics) is measurably different.
    exact = _max_diff(to_numpy(minilm(x)["sequence_output"]),
                      to_numpy(expected["sequence_output"]), x["padding_mask"])
    print(f"[{backend}] exact-GELU model vs keras-hub: {exact:.2e}")
    assert exact > 1e-3


@pytest.mark.interop
def test_matches_hugging_face_transformers_with_exact_gelu(minilm, backend):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")

    assert minilm.config.activation == "gelu_exact"
    reference = transformers.BertModel.from_pretrained(minilm_dir()).eval()
    x = _inputs()
    with torch.no_grad():
        expected = reference(input_ids=torch.tensor(x["token_ids"], dtype=torch.long),
                             token_type_ids=torch.tensor(x["segment_ids"], dtype=torch.long),
                             attention_mask=torch.tensor(x["padding_mask"], dtype=torch.long),
                             output_hidden_states=True)
    got = minilm(x, output_hidden_states=True)
    seq = _max_diff(to_numpy(got["sequence_output"]), expected.last_hidden_state.numpy(),
                    x["padding_mask"])
    pooled = _max_diff(to_numpy(got["pooled_output"]), expected.pooler_output.numpy())
    layers = max(_max_diff(to_numpy(a), b.numpy(), x["padding_mask"])
                 for a, b in zip(got["hidden_states"], expected.hidden_states, strict=True))
    print(f"\n[{backend}] vs transformers (gelu_exact): sequence_output {seq:.2e}, "
          f"pooled_output {pooled:.2e}, all {len(got['hidden_states'])} hidden states {layers:.2e}")
    assert seq < TOLERANCE and pooled < TOLERANCE and layers < TOLERANCE


@pytest.mark.interop
def test_pretraining_heads_match_hugging_face(tmp_path, backend):
    """A (random, tiny) transformers BertForPreTraining saved as safetensors: our MLM logits
    at the masked positions and NSP logits equal its prediction / seq_relationship logits."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")

    torch.manual_seed(0)
    hf_config = transformers.BertConfig(
        vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=24, hidden_act="gelu")
    reference = transformers.BertForPreTraining(hf_config).eval()
    with torch.no_grad():  # make the MLM bias non-trivial
        reference.cls.predictions.bias.normal_(0, 0.5)
    reference.save_pretrained(tmp_path, safe_serialization=True)

    model = BertPretrainer.from_pretrained(tmp_path)
    x = {**bert_inputs(), "masked_positions": np.array([[1, 3], [0, 2], [4, 4]], "int32")}
    with torch.no_grad():
        expected = reference(input_ids=torch.tensor(x["token_ids"], dtype=torch.long),
                             token_type_ids=torch.tensor(x["segment_ids"], dtype=torch.long),
                             attention_mask=torch.tensor(x["padding_mask"], dtype=torch.long))
    got = model(x)
    mlm_expected = expected.prediction_logits.numpy()[np.arange(3)[:, None], x["masked_positions"]]
    mlm = _max_diff(to_numpy(got["mlm_logits"]), mlm_expected)
    nsp = _max_diff(to_numpy(got["nsp_logits"]), expected.seq_relationship_logits.numpy())
    print(f"\n[{backend}] BertForPreTraining heads: mlm_logits {mlm:.2e}, nsp_logits {nsp:.2e}")
    assert mlm < TOLERANCE and nsp < TOLERANCE
