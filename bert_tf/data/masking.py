"""Masked-LM masking, vectorised over a batch of sequences (numpy; no TensorFlow).

The recipe is the original BERT one (google-research `create_masked_lm_predictions`):

- candidates are all real tokens except [CLS] and [SEP] (and padding);
- ``num_to_predict = min(max_predictions, max(1, round(len(tokens) * masked_lm_prob)))`` where
  ``len(tokens)`` counts [CLS] and [SEP] too, and ``round`` is Python's (half to even);
- candidates are taken in random order until ``num_to_predict`` are chosen; with whole-word
  masking a candidate is a word (a wordpiece plus its ``##`` continuations) and a word that
  would overshoot ``num_to_predict`` is skipped, exactly as the original;
- each chosen position becomes [MASK] 80% of the time, a uniformly random vocabulary id 10%
  and stays unchanged 10%; labels are the original ids at the chosen positions, sorted.

One deliberate difference: the original groups a ``##`` piece that directly follows [SEP]
with the last word *before* the [SEP]; here words never span a special token.

Used both when creating static masks (`bert_tf.data.pretraining`) and for dynamic masking in
the numpy iterator (`bert_tf.data.pipeline`); the tf.data pipeline has the same recipe in TF ops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MaskedBatch:
    input_ids: np.ndarray  # [n, L] ids after masking
    positions: np.ndarray  # [n, P] masked positions, ascending, 0-padded
    ids: np.ndarray  # [n, P] original ids at those positions, 0-padded
    weights: np.ndarray  # [n, P] float32, 1.0 for real predictions


def num_to_predict(lengths: np.ndarray, masked_lm_prob: float, max_predictions: int) -> np.ndarray:
    """Predictions per sequence: min(P, max(1, round(len * prob))), round half to even."""
    lengths = np.asarray(lengths)
    n = np.rint(lengths.astype(np.float64) * masked_lm_prob).astype(np.int64)
    return np.minimum(max_predictions, np.maximum(1, n))


def choose_positions(
    candidates: np.ndarray,
    n_predict: np.ndarray,
    rng: np.random.Generator,
    word_starts: np.ndarray | None = None,
) -> np.ndarray:
    """Boolean [n, L] of the positions to predict.

    candidates: [n, L] bool, positions that may be masked.
    n_predict: [n] how many to choose (capped by the number of candidates).
    word_starts: [n, L] bool for whole-word masking: True where a candidate begins a word
        (not a ``##`` continuation). None: every wordpiece is its own candidate.
    """
    n, L = candidates.shape
    rows = np.arange(n)[:, None]
    if word_starts is None:
        keys = rng.random((n, L))
        keys[~candidates] = 2.0
        order = np.argsort(keys, axis=1, kind="stable")
        k = min(L, int(n_predict.max()) if n else 0)
        chosen = np.zeros((n, L), bool)
        chosen[rows, order[:, :k]] = np.arange(k)[None, :] < n_predict[:, None]
        return chosen & candidates
    # whole words: a group starts at a word start or after a non-candidate (special) position
    prev_cand = np.zeros_like(candidates)
    prev_cand[:, 1:] = candidates[:, :-1]
    starts = candidates & (word_starts | ~prev_cand)
    group = np.cumsum(starts, axis=1) - 1  # group slot of each position (valid on candidates)
    n_groups = starts.sum(axis=1)
    flat_group = (np.arange(n)[:, None] * L + group)[candidates]
    sizes = np.bincount(flat_group, minlength=n * L).reshape(n, L)
    keys = rng.random((n, L))
    keys[np.arange(L)[None, :] >= n_groups[:, None]] = 2.0
    order = np.argsort(keys, axis=1, kind="stable")
    sorted_sizes = np.take_along_axis(sizes, order, axis=1)
    count = np.zeros(n, np.int64)
    accepted = np.zeros((n, L), bool)
    for k in range(int(n_groups.max()) if n else 0):
        s = sorted_sizes[:, k]
        ok = (s > 0) & (count + s <= n_predict)
        count += np.where(ok, s, 0)
        accepted[:, k] = ok
    chosen_group = np.zeros((n, L), bool)
    chosen_group[rows, order] = accepted
    return candidates & np.take_along_axis(chosen_group, np.clip(group, 0, L - 1), axis=1)


def apply_masks(
    input_ids: np.ndarray,
    chosen: np.ndarray,
    max_predictions: int,
    vocab_size: int,
    mask_id: int,
    rng: np.random.Generator,
) -> MaskedBatch:
    """80% [MASK] / 10% random id / 10% unchanged at `chosen`, plus the label arrays."""
    n, L = input_ids.shape
    u = rng.random((n, L))
    random_ids = rng.integers(0, vocab_size, (n, L), dtype=input_ids.dtype)
    out = np.where(chosen & (u < 0.8), input_ids.dtype.type(mask_id), input_ids)
    out = np.where(chosen & (u >= 0.9), random_ids, out)
    r, c = np.nonzero(chosen)  # row-major: positions ascending within each row
    counts = chosen.sum(axis=1)
    slot = np.arange(len(r)) - np.repeat(np.cumsum(counts) - counts, counts)
    positions = np.zeros((n, max_predictions), input_ids.dtype)
    ids = np.zeros((n, max_predictions), input_ids.dtype)
    weights = np.zeros((n, max_predictions), np.float32)
    positions[r, slot] = c
    ids[r, slot] = input_ids[r, c]
    weights[r, slot] = 1.0
    return MaskedBatch(out, positions, ids, weights)


def mask_batch(
    input_ids: np.ndarray,
    lengths: np.ndarray,
    special: np.ndarray,
    masked_lm_prob: float,
    max_predictions: int,
    vocab_size: int,
    mask_id: int,
    rng: np.random.Generator,
    word_starts: np.ndarray | None = None,
) -> MaskedBatch:
    """Mask a batch of [n, L] sequences with `lengths` real tokens; `special` marks [CLS]/[SEP]."""
    L = input_ids.shape[1]
    real = np.arange(L)[None, :] < np.asarray(lengths)[:, None]
    candidates = real & ~special
    n_predict = np.minimum(
        num_to_predict(lengths, masked_lm_prob, max_predictions), candidates.sum(axis=1)
    )
    chosen = choose_positions(candidates, n_predict, rng, word_starts)
    return apply_masks(input_ids, chosen, max_predictions, vocab_size, mask_id, rng)


def unmask(input_ids: np.ndarray, positions: np.ndarray, ids: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Undo static masks: put the label ids back at the masked positions."""
    out = np.array(input_ids, copy=True)
    r, s = np.nonzero(weights > 0)
    out[r, positions[r, s]] = ids[r, s]
    return out
