"""bert_tf.data.denoising: BART's noise functions (exact counts, order kept, Poisson spans)."""

import math

import numpy as np
import pytest

from bert_tf.data.denoising import (
    document_rotation,
    replace_spans,
    sample_spans,
    sentence_permutation,
    text_infilling,
    token_deletion,
    token_masking,
)

MASK = -1  # never a real id below, so every [MASK] in an output is identifiable


def _ids(n, seed=0):
    """Distinct ids, so each kept token can be found in the original."""
    return np.random.default_rng(seed).permutation(1000)[:n].tolist()


@pytest.mark.parametrize("n", [0, 1, 7, 40])
def test_token_masking_masks_exactly_round_n_ratio_and_keeps_the_rest(n):
    ids = _ids(n)
    before = list(ids)
    out = token_masking(ids, np.random.default_rng(1), MASK, 0.3)
    assert ids == before  # the input is not modified
    assert len(out) == n
    assert sum(t == MASK for t in out) == round(n * 0.3)
    assert all(o in (t, MASK) for o, t in zip(out, ids, strict=True))


@pytest.mark.parametrize("n", [0, 1, 9, 40])
def test_token_deletion_keeps_an_ordered_subsequence(n):
    ids = _ids(n)
    out = token_deletion(ids, np.random.default_rng(2), 0.25)
    assert len(out) == n - round(n * 0.25)
    positions = [ids.index(t) for t in out]
    assert positions == sorted(positions)


def test_ratios_outside_0_1_are_rejected():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="mask_ratio"):
        token_masking([1, 2], rng, MASK, 1.5)
    with pytest.raises(ValueError, match="delete_ratio"):
        token_deletion([1, 2], rng, -0.1)
    with pytest.raises(ValueError, match="poisson_lambda"):
        sample_spans(10, rng, 0.3, 0.0)


@pytest.mark.parametrize("n", [0, 1, 2, 5, 13, 64])
@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.9, 1.0])
def test_spans_are_sorted_disjoint_inside_and_cover_exactly_the_budget(n, ratio):
    rng = np.random.default_rng(n)
    for _ in range(20):
        spans = sample_spans(n, rng, ratio, 3.0)
        assert sum(length for _, length in spans) == round(n * ratio)
        end = 0
        for start, length in spans:
            assert start >= end and length >= 0
            end = start + length
        assert end <= n
        if spans:
            assert spans[-1][1] >= 1  # only the last span is shortened, and never to 0


def test_span_lengths_follow_poisson_lambda():
    rng = np.random.default_rng(0)
    lengths = []
    for _ in range(100):
        # Long sequences: ~100 spans each, so leaving out the last (shortened) one, which is
        # also the draw most likely to be long (it crossed the budget), biases little.
        spans = sample_spans(1000, rng, 0.3, 3.0)
        lengths += [length for _, length in spans[:-1]]
    lengths = np.array(lengths)
    assert len(lengths) > 5000
    assert abs(lengths.mean() - 3.0) < 0.1
    assert abs(lengths.var() - 3.0) < 0.25  # Poisson: variance = mean
    assert abs((lengths == 0).mean() - math.exp(-3.0)) < 0.01  # zero-length spans: insertions


def test_replace_spans_puts_one_mask_per_span_including_empty_ones():
    ids = [10, 11, 12, 13, 14, 15]
    assert replace_spans(ids, [(1, 2), (4, 1)], MASK) == [10, MASK, 13, MASK, 15]
    assert replace_spans(ids, [(0, 0)], MASK) == [MASK, *ids]  # inserted before token 0
    assert replace_spans(ids, [(6, 0)], MASK) == [*ids, MASK]
    assert replace_spans(ids, [(1, 2), (3, 1)], MASK) == [10, MASK, MASK, 14, 15]  # touching
    assert replace_spans(ids, [], MASK) == ids
    with pytest.raises(ValueError, match="overlaps"):
        replace_spans(ids, [(1, 3), (2, 1)], MASK)
    with pytest.raises(ValueError, match="leaves"):
        replace_spans(ids, [(5, 2)], MASK)


def test_text_infilling_hides_30_percent_in_poisson_spans_of_one_mask_each():
    ids = _ids(40)
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    out = text_infilling(ids, rng_a, MASK)
    spans = sample_spans(40, rng_b, 0.3, 3.0)  # the same draws
    assert out == replace_spans(ids, spans, MASK)
    kept = [t for t in out if t != MASK]
    assert len(kept) == 40 - 12
    assert [ids.index(t) for t in kept] == sorted(ids.index(t) for t in kept)
    assert out.count(MASK) == len(spans)
    assert text_infilling(ids, np.random.default_rng(7), MASK) == out  # seeded: repeatable


def test_sentence_permutation_keeps_every_sentence_whole():
    sentences = [[1, 2, 3], [4], [5, 6], [7, 8, 9, 10]]
    out = sentence_permutation(sentences, np.random.default_rng(3))
    assert sorted(out) == list(range(1, 11))
    pieces, i = [], 0
    while i < len(out):
        sentence = next(s for s in sentences if s[0] == out[i])
        assert out[i:i + len(sentence)] == sentence
        pieces.append(sentence)
        i += len(sentence)
    assert len(pieces) == 4


def test_document_rotation_is_a_rotation():
    ids = _ids(12)
    seen = set()
    for seed in range(30):
        out = document_rotation(ids, np.random.default_rng(seed))
        start = ids.index(out[0])
        assert out == ids[start:] + ids[:start]
        seen.add(start)
    assert len(seen) > 6
    assert document_rotation([], np.random.default_rng(0)) == []
