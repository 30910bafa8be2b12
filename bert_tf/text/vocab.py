"""Training a WordPiece vocabulary (``vocab.txt``) for `BertTokenizer`.

Words are counted after exactly the pre-splitting `BertTokenizer` does (`basic_tokenize`:
cleaning, CJK ideographs as words of their own, optional lowercasing with accent stripping,
punctuation split), then tensorflow-text's WordPiece learner -- the one behind keras-hub's
`compute_word_piece_vocabulary` and tensorflow-text's `bert_vocab_from_dataset` -- picks the
vocabulary. Feeding it our own word counts, instead of letting those wrappers split the text
with their own rules (which case-fold with NFKC, so ``½`` would become ``1⁄2``), makes the
vocabulary match what the tokenizer will actually look up.

Layout of the result: ``[PAD] [UNK] [CLS] [SEP] [MASK]`` (ids 0-4), ``[unused0]`` ...
``[unusedN-1]`` (free slots for later special tokens), then single characters, their
``##`` continuations, and learned wordpieces by frequency.
"""

from __future__ import annotations

import collections
import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from bert_tf.errors import DataError
from bert_tf.io import write_atomic
from bert_tf.text.rules import SPECIAL_TOKENS, normalizer, splittable

DEFAULT_NUM_UNUSED = 100
_CHUNK_CHARS = 1 << 20


def reserved_tokens(num_unused: int = DEFAULT_NUM_UNUSED) -> list[str]:
    """The special tokens, then ``[unused0]`` ... ``[unused{num_unused-1}]``."""
    return [*SPECIAL_TOKENS, *(f"[unused{i}]" for i in range(num_unused))]


def read_lines(paths: Iterable[str | os.PathLike]) -> Iterator[str]:
    """Lines of UTF-8 text files; a missing file or invalid UTF-8 is a `DataError` naming
    the file (and line)."""
    for path in paths:
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise DataError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise DataError(f"{path}: is a directory, expected a text file") from None
        with f:
            for number, raw in enumerate(f, 1):
                try:
                    yield raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    raise DataError(
                        f"{path}:{number}: not valid UTF-8 (byte {err.start + 1} of the line)"
                    ) from None


def count_words(lines: Iterable[str], lowercase: bool = True) -> collections.Counter:
    """Counts the words `BertTokenizer` would hand to WordPiece.

    Whitespace-separated pieces of raw text are counted first; each distinct piece is then
    split into words once."""
    pieces: collections.Counter = collections.Counter()
    buf: list[str] = []
    size = 0
    for line in lines:
        buf.append(line)
        size += len(line)
        if size >= _CHUNK_CHARS:  # newlines are whitespace: one call per chunk is the same
            pieces.update(splittable("\n".join(buf)).split())
            buf, size = [], 0
    if buf:
        pieces.update(splittable("\n".join(buf)).split())
    words = normalizer(lowercase).words
    counts: collections.Counter = collections.Counter()
    for piece, n in pieces.items():
        for word in words(piece):
            counts[word] += n
    return counts


def _learner():
    from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib

    return wordpiece_tokenizer_learner_lib


def _learn(word_counts, vocab_size, reserved, max_unique_chars, min_count) -> list[str]:
    """tensorflow-text's `learn` with the frequency threshold searched on a log scale.

    Same preprocessing and the same `learn_with_thresh` (one WordPiece vocabulary per
    threshold); its own search bisects [min_count, max count] linearly, which spends most of
    its ~15 full passes at thresholds far too high. Bisecting the logarithm gets into the
    5%-below-``vocab_size`` window in about half the passes.
    """
    lib = _learner()
    params = lib.Params(
        upper_thresh=int(1e7),
        lower_thresh=min_count,
        num_iterations=4,
        max_input_tokens=int(5e6),
        max_token_length=50,
        max_unique_chars=max_unique_chars,
        vocab_size=vocab_size,
        slack_ratio=0.05,
        include_joiner_token=True,
        joiner="##",
        reserved_tokens=reserved,
    )
    items = sorted(word_counts.items())
    hi, lo = lib.get_search_threshs(items, params.upper_thresh, params.lower_thresh)
    words = lib.get_input_words(items, reserved, params.max_token_length)
    allowed = lib.get_allowed_chars(words, max_unique_chars)
    words = lib.filter_input_words(words, allowed, params.max_input_tokens)
    lo, hi = max(1, lo), max(1, hi)
    best_under, best_over = None, None
    while lo <= hi:
        thresh = min(hi, max(lo, round(math.sqrt(lo * hi))))
        vocab = lib.learn_with_thresh(words, thresh, params)
        if len(vocab) > vocab_size:
            if best_over is None or len(vocab) < len(best_over):
                best_over = vocab
            lo = thresh + 1
        else:
            if best_under is None or len(vocab) > len(best_under):
                best_under = vocab
            if vocab_size - len(vocab) <= params.slack_ratio * vocab_size:
                break
            hi = thresh - 1
    return best_under if best_under is not None else best_over


def learn_vocab(
    word_counts: collections.Counter,
    vocab_size: int,
    num_unused: int = DEFAULT_NUM_UNUSED,
    max_unique_chars: int = 1000,
    min_count: int = 10,
) -> list[str]:
    """WordPiece vocabulary of at most ``vocab_size`` tokens from word counts.

    ``max_unique_chars``: the alphabet is the most frequent characters (words with other
    characters are left out). ``min_count``: the lowest frequency threshold the learner's
    binary search may try (tensorflow-text's ``lower_thresh``).
    """
    reserved = reserved_tokens(num_unused)
    if vocab_size <= len(reserved):
        raise ValueError(
            f"vocab_size={vocab_size} leaves no room next to {len(reserved)} reserved tokens"
        )
    if not word_counts:
        raise DataError("no words to learn from (empty input)")
    vocab = _learn(word_counts, vocab_size, reserved, max_unique_chars, min_count)
    vocab = [t for t in vocab if t and t == t.strip()][:vocab_size]
    if vocab[: len(reserved)] != reserved:  # pragma: no cover - the learner keeps them first
        raise AssertionError("reserved tokens are not at the start of the vocabulary")
    return vocab


def write_vocab(tokens: list[str], path: str | os.PathLike) -> None:
    """Writes one token per line, atomically (a temporary file renamed into place)."""
    path = Path(path)
    if len(set(tokens)) != len(tokens):
        raise ValueError("vocabulary has repeated tokens")
    for t in tokens:
        if not t or t != t.strip() or "\n" in t:
            raise ValueError(f"token {t!r} would not survive a vocab.txt round trip")
    write_atomic(path, "".join(t + "\n" for t in tokens))


def train_vocab(
    files: Iterable[str | os.PathLike],
    vocab_size: int,
    output: str | os.PathLike | None = None,
    lowercase: bool = True,
    num_unused: int = DEFAULT_NUM_UNUSED,
    max_unique_chars: int = 1000,
    min_count: int = 10,
) -> list[str]:
    """Counts words in text ``files``, learns a vocabulary, writes it to ``output`` (if given)
    and returns it."""
    files = list(files)
    if not files:
        raise DataError("no input files")
    counts = count_words(read_lines(files), lowercase=lowercase)
    if not counts:
        raise DataError(f"{', '.join(map(str, files))}: no words in the input")
    vocab = learn_vocab(counts, vocab_size, num_unused, max_unique_chars, min_count)
    if output is not None:
        write_vocab(vocab, output)
    return vocab
