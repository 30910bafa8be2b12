"""BART's noise functions (Lewis et al., 2019, section 2.2): corrupt a text, learn to restore it.

A denoising autoencoder is pretrained on pairs (corrupt(x), x): the encoder reads the damaged
sequence and the decoder writes the original. BART tried five kinds of damage:

| noise | what happens | what the model must learn |
|---|---|---|
| `token_masking` | random tokens become [MASK] (as in BERT) | fill in single tokens |
| `token_deletion` | random tokens disappear | *where* something is missing |
| `text_infilling` | spans of Poisson(3) length each become ONE [MASK] | how *many* tokens are missing |
| `sentence_permutation` | the sentences of a document are shuffled | their order |
| `document_rotation` | the document starts at a random token | where it really starts |

Text infilling (with sentence permutation) worked best, and T5's "span corruption" is a close
cousin. Every function takes one sequence of token ids (a list or 1-D array) and a
`np.random.Generator`, and returns a new list; the input is never modified. The counts are
exact: `round(len(ids) * ratio)` tokens (Python's round) are masked, deleted or put in spans,
so a short sentence is damaged as much, in proportion, as a long one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _count(n: int, ratio: float, name: str) -> int:
    if not 0 <= ratio <= 1:
        raise ValueError(f"{name} must be in [0, 1], got {ratio}")
    return round(n * ratio)


def token_masking(ids: Sequence[int], rng: np.random.Generator, mask_id: int,
                  mask_ratio: float = 0.15) -> list[int]:
    """`round(len * mask_ratio)` random positions become `mask_id`; the length is unchanged."""
    out = list(ids)
    chosen = rng.choice(len(out), _count(len(out), mask_ratio, "mask_ratio"), replace=False)
    for i in chosen:
        out[i] = mask_id
    return out


def token_deletion(ids: Sequence[int], rng: np.random.Generator,
                   delete_ratio: float = 0.15) -> list[int]:
    """`round(len * delete_ratio)` random tokens are removed; the rest keep their order."""
    ids = list(ids)
    gone = set(rng.choice(len(ids), _count(len(ids), delete_ratio, "delete_ratio"),
                          replace=False).tolist())
    return [t for i, t in enumerate(ids) if i not in gone]


def sample_spans(length: int, rng: np.random.Generator, mask_ratio: float = 0.3,
                 poisson_lambda: float = 3.0) -> list[tuple[int, int]]:
    """Random spans `(start, span_length)` for text infilling, sorted by start.

    Span lengths are drawn from Poisson(`poisson_lambda`) until they cover
    `budget = round(length * mask_ratio)` tokens; the last one is shortened so that exactly
    `budget` tokens are covered. Lengths of 0 are kept: they become an *inserted* [MASK]
    (before token `start`), which teaches the model that a [MASK] may hide nothing at all.
    The spans are then placed at random without overlapping (they may touch): the
    `length - budget` kept tokens are split into k + 1 runs at k sorted random cut points.
    """
    if poisson_lambda <= 0:
        raise ValueError(f"poisson_lambda must be > 0, got {poisson_lambda}")
    budget = _count(length, mask_ratio, "mask_ratio")
    lengths: list[int] = []
    while sum(lengths) < budget:
        lengths.append(int(rng.poisson(poisson_lambda)))
    if lengths:
        lengths[-1] -= sum(lengths) - budget
    kept = length - budget
    cuts = np.sort(rng.integers(0, kept + 1, len(lengths)))
    starts = cuts + np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int)
    return [(int(s), n) for s, n in zip(starts, lengths, strict=True)]


def replace_spans(ids: Sequence[int], spans: Sequence[tuple[int, int]],
                  mask_id: int) -> list[int]:
    """Each `(start, span_length)` span of `ids` becomes one `mask_id` (length 0: inserted).

    `spans` must be sorted and must not overlap (touching is fine: two [MASK]s in a row).
    """
    ids = list(ids)
    out, position = [], 0
    for start, span_length in spans:
        if start < position or span_length < 0 or start + span_length > len(ids):
            raise ValueError(f"span ({start}, {span_length}) overlaps the previous one or "
                             f"leaves the sequence of {len(ids)} tokens")
        out += ids[position:start]
        out.append(mask_id)
        position = start + span_length
    return out + ids[position:]


def text_infilling(ids: Sequence[int], rng: np.random.Generator, mask_id: int,
                   mask_ratio: float = 0.3, poisson_lambda: float = 3.0) -> list[int]:
    """BART's best noise: Poisson(3)-long spans covering 30% of the tokens, one [MASK] each."""
    return replace_spans(ids, sample_spans(len(ids), rng, mask_ratio, poisson_lambda), mask_id)


def sentence_permutation(sentences: Sequence[Sequence[int]],
                         rng: np.random.Generator) -> list[int]:
    """The sentences (lists of ids) in a random order, concatenated."""
    order = rng.permutation(len(sentences))
    return [t for i in order for t in sentences[i]]


def document_rotation(ids: Sequence[int], rng: np.random.Generator) -> list[int]:
    """The sequence rotated to start at a uniformly random token."""
    ids = list(ids)
    if not ids:
        return ids
    start = int(rng.integers(len(ids)))
    return ids[start:] + ids[:start]
