"""Input pipelines over pretraining TFRecord shards: tf.data for Keras/TF, numpy for JAX.

Both read the original BERT feature format (files made by `bert-tf create-data` or by
google-research's ``create_pretraining_data.py``) and yield batches in the names the
bert_tf models use:

=========================  =================  =====================================
original feature           bert_tf name       batch shape, dtype
=========================  =================  =====================================
``input_ids``              ``token_ids``      [batch, seq] int32
``input_mask``             ``padding_mask``   [batch, seq] int32 (1 = real token)
``segment_ids``            ``segment_ids``    [batch, seq] int32
``masked_lm_positions``    ``masked_positions``  [batch, predictions] int32
``masked_lm_ids``          ``masked_ids``     [batch, predictions] int32
``masked_lm_weights``      ``masked_weights`` [batch, predictions] float32
``next_sentence_labels``   ``nsp_labels``     [batch] int32 (1 = random next)
=========================  =================  =====================================

Batches have static shapes (``drop_remainder=True``), as XLA and TPUs need.

Dynamic masking (RoBERTa): with ``dynamic_masking=True`` the static masks in the files are
undone (the label ids are put back at their positions) and each batch is masked afresh with
the original recipe (15% capped at ``max_predictions``, 80% [MASK] / 10% random / 10%
unchanged, never [CLS]/[SEP]/padding), in TF ops inside the pipeline (`dynamic_mask_tf`) or
in numpy (`bert_tf.data.masking`). Every epoch then sees different masks. Dynamic masking
is per wordpiece (no whole-word option).

TensorFlow is imported only when a tf.data function is called.
"""

from __future__ import annotations

import glob
import json
import os
import random
from collections.abc import Iterator, Sequence

import numpy as np

from bert_tf.data import masking, tfrecord
from bert_tf.data.pretraining import FEATURE_NAMES, MANIFEST
from bert_tf.errors import DataError
from bert_tf.text.rules import SPECIAL_TOKENS


def resolve_files(source: str | Sequence[str]) -> tuple[list[str], dict | None]:
    """Shard paths from a dataset directory (its manifest), a glob pattern or a list of files."""
    if isinstance(source, (str, os.PathLike)):
        source = os.fspath(source)
        if os.path.isdir(source):
            manifest_path = os.path.join(source, MANIFEST)
            if os.path.exists(manifest_path):
                with open(manifest_path, encoding="utf-8") as f:
                    manifest = json.load(f)
                if not manifest.get("complete"):
                    raise DataError(f"{source}: the dataset is incomplete (manifest not complete)")
                return [os.path.join(source, s["file"]) for s in manifest["shards"]], manifest
            files = sorted(glob.glob(os.path.join(source, "*.tfrecord")))
            if not files:
                raise DataError(f"{source}: no {MANIFEST} and no *.tfrecord files")
            return files, None
        files = sorted(glob.glob(source))
        if not files:
            raise DataError(f"{source}: no such file")
        return files, None
    files = [os.fspath(f) for f in source]
    for f in files:
        if not os.path.isfile(f):
            raise DataError(f"{f}: no such file")
    if not files:
        raise DataError("no input files given")
    return files, None


def feature_lengths(files: Sequence[str], manifest: dict | None = None) -> tuple[int, int]:
    """(max_seq_length, max_predictions) from the manifest or the first record."""
    if manifest is not None:
        s = manifest["settings"]
        return s["max_seq_length"], s["max_predictions_per_seq"]
    for f in files:
        for record in tfrecord.iter_records(f, verify=False):
            ex = tfrecord.decode_batch([record], f)
            missing = [k for k in FEATURE_NAMES if k not in ex]
            if missing:
                raise DataError(f"{f}: not BERT pretraining data (no feature {', '.join(missing)})")
            return ex["input_ids"].shape[1], ex["masked_lm_positions"].shape[1]
    raise DataError(f"{', '.join(files)}: no records")


def rename(features: dict) -> dict:
    """Original feature names -> bert_tf names (tensors or arrays; nsp labels flattened)."""
    out = {FEATURE_NAMES[k]: v for k, v in features.items() if k in FEATURE_NAMES}
    if "nsp_labels" in out:
        out["nsp_labels"] = out["nsp_labels"][:, 0]
    return out


# ---------------------------------------------------------------------------- tf.data


def feature_spec(max_seq_length: int, max_predictions: int) -> dict:
    import tensorflow as tf

    L, P = max_seq_length, max_predictions
    return {
        "input_ids": tf.io.FixedLenFeature([L], tf.int64),
        "input_mask": tf.io.FixedLenFeature([L], tf.int64),
        "segment_ids": tf.io.FixedLenFeature([L], tf.int64),
        "masked_lm_positions": tf.io.FixedLenFeature([P], tf.int64),
        "masked_lm_ids": tf.io.FixedLenFeature([P], tf.int64),
        "masked_lm_weights": tf.io.FixedLenFeature([P], tf.float32),
        "next_sentence_labels": tf.io.FixedLenFeature([1], tf.int64),
    }


def dynamic_mask_tf(
    batch: dict,
    seed,
    masked_lm_prob: float,
    vocab_size: int,
    mask_id: int,
    cls_id: int,
    sep_id: int,
) -> dict:
    """Re-mask a batch (bert_tf names) in TF ops with stateless randomness from `seed` ([2])."""
    import tensorflow as tf

    ids = batch["token_ids"]
    positions = batch["masked_positions"]
    B = tf.shape(ids)[0]
    L = ids.shape[1]
    P = positions.shape[1]
    row = tf.broadcast_to(tf.range(B)[:, None], tf.shape(positions))
    # 1. undo the static masks (slots with weight 0 rewrite position 0 with its own value)
    current = tf.gather(ids, positions, batch_dims=1)
    labels = tf.where(batch["masked_weights"] > 0, batch["masked_ids"], current)
    ids = tf.tensor_scatter_nd_update(ids, tf.stack([row, positions], -1), labels)
    # 2. choose positions: random keys, the top num_to_predict candidates, sorted
    real = batch["padding_mask"] > 0
    candidates = real & (ids != cls_id) & (ids != sep_id)
    length = tf.reduce_sum(tf.cast(real, tf.float32), axis=1)
    n_pred = tf.cast(tf.math.round(length * masked_lm_prob), tf.int32)  # half to even
    n_pred = tf.minimum(tf.minimum(P, tf.maximum(1, n_pred)), tf.reduce_sum(tf.cast(candidates, tf.int32), 1))
    seeds = tf.random.experimental.stateless_split(seed, 4)
    keys = tf.random.stateless_uniform([B, L], seeds[0])
    keys = tf.where(candidates, keys, -1.0)
    top = tf.math.top_k(keys, k=P).indices
    valid = tf.range(P)[None, :] < n_pred[:, None]
    new_positions = tf.sort(tf.where(valid, top, L), axis=1)
    valid = new_positions < L
    new_positions = tf.where(valid, new_positions, 0)
    originals = tf.gather(ids, new_positions, batch_dims=1)
    # 3. 80% [MASK], 10% random id, 10% unchanged
    u = tf.random.stateless_uniform([B, P], seeds[1])
    random_ids = tf.random.stateless_uniform([B, P], seeds[2], minval=0, maxval=vocab_size, dtype=tf.int32)
    replaced = tf.where(u < 0.8, tf.cast(mask_id, ids.dtype), tf.where(u < 0.9, originals, tf.cast(random_ids, ids.dtype)))
    replaced = tf.where(valid, replaced, originals)
    masked = tf.tensor_scatter_nd_update(ids, tf.stack([row, new_positions], -1), replaced)
    out = dict(batch)
    out["token_ids"] = masked
    out["masked_positions"] = new_positions
    out["masked_ids"] = tf.where(valid, originals, 0)
    out["masked_weights"] = tf.cast(valid, tf.float32)
    return out


def _special_ids(vocab_path: str | None, vocab_size, mask_id, cls_id, sep_id):
    if vocab_path is not None:
        from bert_tf.data.pretraining import load_vocab

        v = load_vocab(vocab_path)
        return v.size, v.ids["[MASK]"], v.ids["[CLS]"], v.ids["[SEP]"]
    if None in (vocab_size, mask_id, cls_id, sep_id):
        raise ValueError(
            "dynamic masking needs vocab_path, or vocab_size, mask_id, cls_id and sep_id "
            f"(the ids of {SPECIAL_TOKENS[4]}, {SPECIAL_TOKENS[2]}, {SPECIAL_TOKENS[3]})"
        )
    return vocab_size, mask_id, cls_id, sep_id


def without_autotune(ds):
    """`ds` with tf.data autotuning switched off, for pipelines over arrays already in memory.

    Autotuning gains such pipelines nothing, and with TensorFlow 2.21 deleting an autotuned
    iterator waits for the tuner thread's next wake-up (its sleep doubles from 10 ms up to a
    minute), so the call that owned the iterator can return up to its own length late.
    Batches and their order do not change.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)


def pretraining_dataset(
    source: str | Sequence[str],
    batch_size: int,
    *,
    shuffle: bool = True,
    repeat: bool = True,
    seed: int | None = None,
    shuffle_buffer: int = 10_000,
    cycle_length: int = 8,
    dynamic_masking: bool = False,
    masked_lm_prob: float = 0.15,
    vocab_path: str | None = None,
    vocab_size: int | None = None,
    mask_id: int | None = None,
    cls_id: int | None = None,
    sep_id: int | None = None,
    input_context=None,
):
    """A `tf.data.Dataset` of pretraining batches (dicts in bert_tf names, static shapes).

    source: a `create-data` output directory, a glob pattern, or a list of TFRecord files.
    Files are shuffled and interleaved, records shuffled in a buffer, batched with
    ``drop_remainder=True``, parsed per batch and prefetched. With a `seed` the order (and
    the dynamic masks) are reproducible. `input_context` (`tf.distribute.InputContext`)
    shards the files across input pipelines.
    """
    import tensorflow as tf

    files, manifest = resolve_files(source)
    L, P = feature_lengths(files, manifest)
    spec = feature_spec(L, P)
    if dynamic_masking:
        vocab_size, mask_id, cls_id, sep_id = _special_ids(vocab_path, vocab_size, mask_id, cls_id, sep_id)
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    ds = tf.data.Dataset.from_tensor_slices(files)
    if input_context is not None and input_context.num_input_pipelines > 1:
        if len(files) < input_context.num_input_pipelines:
            raise DataError(
                f"{len(files)} shards cannot be split over {input_context.num_input_pipelines} "
                "input pipelines; create the data with more --num-shards"
            )
        ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(cycle_length, len(files)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=True)

    def parse(serialized):
        ex = tf.io.parse_example(serialized, spec)
        ex = {k: (tf.cast(v, tf.int32) if v.dtype == tf.int64 else v) for k, v in ex.items()}
        return rename(ex)

    ds = ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if dynamic_masking:
        ds = ds.enumerate()

        def remask(step, batch):
            return dynamic_mask_tf(
                batch, tf.stack([tf.cast(seed, tf.int64), step]), masked_lm_prob,
                vocab_size, mask_id, cls_id, sep_id,
            )

        ds = ds.map(remask, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


# ---------------------------------------------------------------------------- numpy (JAX)


def numpy_batches(
    source: str | Sequence[str],
    batch_size: int,
    *,
    shuffle: bool = True,
    epochs: int | None = None,
    seed: int | None = None,
    shuffle_buffer: int = 10_000,
    dynamic_masking: bool = False,
    masked_lm_prob: float = 0.15,
    vocab_path: str | None = None,
    vocab_size: int | None = None,
    mask_id: int | None = None,
    cls_id: int | None = None,
    sep_id: int | None = None,
    shard: tuple[int, int] = (0, 1),
) -> Iterator[dict[str, np.ndarray]]:
    """Batches of numpy arrays (bert_tf names, static shapes) for the JAX backend.

    Pure numpy: reads and checks the TFRecord files itself, so neither producing nor
    consuming the batches needs TensorFlow. Files are visited in a shuffled order, records
    pass through a shuffle buffer, the last partial batch of the stream is dropped.
    `epochs=None` repeats forever. `shard=(index, count)` takes every count-th file (one
    share per JAX process).
    """
    files, _ = resolve_files(source)
    index, count = shard
    files = files[index::count]
    if not files:
        raise DataError(f"shard {index} of {count}: no files")
    if dynamic_masking:
        vocab_size, mask_id, cls_id, sep_id = _special_ids(vocab_path, vocab_size, mask_id, cls_id, sep_id)
    rng = np.random.default_rng(seed)

    def file_examples(path: str) -> dict[str, np.ndarray]:
        ex = tfrecord.decode_batch(list(tfrecord.iter_records(path)), path)
        missing = [k for k in FEATURE_NAMES if k not in ex]
        if missing:
            raise DataError(f"{path}: not BERT pretraining data (no feature {', '.join(missing)})")
        return rename(ex)

    def emit(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = {k: (v.astype(np.int32) if v.dtype.kind == "i" else v) for k, v in batch.items()}
        if dynamic_masking:
            ids = masking.unmask(out["token_ids"], out["masked_positions"], out["masked_ids"], out["masked_weights"])
            lengths = out["padding_mask"].sum(axis=1)
            m = masking.mask_batch(
                ids, lengths, (ids == cls_id) | (ids == sep_id), masked_lm_prob,
                out["masked_positions"].shape[1], vocab_size, mask_id, rng,
            )
            out.update(token_ids=m.input_ids, masked_positions=m.positions, masked_ids=m.ids, masked_weights=m.weights)
        return out

    epoch = 0
    carry: dict[str, np.ndarray] | None = None
    while epochs is None or epoch < epochs:
        order = rng.permutation(len(files)) if shuffle else np.arange(len(files))
        for f in order:
            ex = file_examples(files[int(f)])
            if carry is not None:
                ex = {k: np.concatenate([carry[k], ex[k]]) for k in ex}
            total = len(ex["token_ids"])
            if shuffle:  # a shuffle buffer: what is left over mixes with the next file
                perm = rng.permutation(total)
                ex = {k: v[perm] for k, v in ex.items()}
            keep = min(shuffle_buffer, total) if shuffle else 0
            full = (total - keep) // batch_size * batch_size
            for s in range(0, full, batch_size):
                yield emit({k: v[s : s + batch_size] for k, v in ex.items()})
            carry = {k: v[full:] for k, v in ex.items()}
        epoch += 1
    if carry is not None:  # the end of the last epoch: flush the buffer
        n = len(carry["token_ids"])
        for s in range(0, n // batch_size * batch_size, batch_size):
            yield emit({k: v[s : s + batch_size] for k, v in carry.items()})
