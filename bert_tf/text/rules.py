"""The rules of the original BERT tokenizer (google-research/bert `tokenization.py`), in one place.

`FullTokenizer`, step by step:

1. clean: drop NUL, U+FFFD and control characters (Unicode categories Cc and Cf, except tab,
   newline and carriage return, which count as whitespace);
2. put spaces around every CJK ideograph (`CJK_RANGES`), so each one is a word of its own;
3. split on whitespace; with ``lowercase=True`` each piece is lowercased (``str.lower``, which
   knows the Greek final sigma), decomposed (NFD) and stripped of its non-spacing marks (Mn):
   accents go;
4. split off every punctuation character (categories P*, and all non-alphanumeric ASCII);
5. WordPiece: each word is cut greedily into the longest vocabulary entries, left to right,
   continuations spelled ``##...``; a word that cannot be cut, or that is longer than 200
   characters, becomes ``[UNK]``.

Steps 1-4 are `Normalizer.normalize`: two ``str.translate`` passes around ``str.lower`` and
``unicodedata.normalize`` over a whole text, after which ``normalize(text).split()`` are the
original's words. The translation tables classify each character (with `unicodedata`, as the
original does) the first time they meet it. Normalising a whole text at once equals the
original's piece-by-piece work because lowercasing's only context rule (final sigma) and NFD's
canonical reordering stop at whitespace (checked in ``tests/test_tokenizer.py``).
`Normalizer.words` does the same for one piece of raw text, plain ASCII without a translation.

`PieceIds` is the whole pipeline for batches of texts, in pure Python: it caches the ids of
every whitespace-separated piece of raw text it has seen (``"(Paris),"`` -> ``( paris ) ,``), so
a text costs one ``str.split`` and a dict look-up per piece, and only new pieces go through
steps 1-4 and WordPiece (`WordIds`, cached too).
"""

from __future__ import annotations

import collections
import os
import re
import unicodedata
from collections.abc import Mapping
from itertools import chain

import numpy as np

from bert_tf.errors import DataError

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
MAX_INPUT_CHARS_PER_WORD = 200

# CJK ideograph blocks, exactly the ranges of the original `_is_chinese_char`.
CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)

# Characters that ``str.split()`` treats as whitespace but the original removes in step 1
# (Cc): "a\x1cb" is one word to it. Whoever splits raw text deletes these first (`splittable`).
WHITESPACE_THAT_IS_REMOVED = "\x0b\x0c\x1c\x1d\x1e\x1f\x85"
# `PieceIds.flat_ids` marks the end of each text with NUL, also removed in step 1.
_END = "\x00"
_DELETED_BEFORE_SPLITTING = _END + WHITESPACE_THAT_IS_REMOVED
_DELETE_BEFORE_SPLITTING = dict.fromkeys(map(ord, _DELETED_BEFORE_SPLITTING))


def is_cjk(cp: int) -> bool:
    """True for code points the original treats as CJK ideographs."""
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def is_removed(cp: int, category: str) -> bool:
    """Step 1: NUL, U+FFFD, and Cc/Cf except tab, newline and carriage return."""
    return cp == 0 or cp == 0xFFFD or (category in ("Cc", "Cf") and cp not in (9, 10, 13))


def is_punctuation(cp: int, category: str) -> bool:
    """Step 4: Unicode punctuation (P*) and every non-alphanumeric printable ASCII character."""
    return (
        33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or category[0] == "P"
    )


class _TranslationTable(dict):
    """A ``str.translate`` table that classifies each code point when it is first looked up:
    ``rule(cp, category)`` gives None (delete), a replacement string, or ``cp`` (keep)."""

    def __init__(self, rule):
        super().__init__()
        self.rule = rule

    def __missing__(self, cp: int):
        value = self[cp] = self.rule(cp, unicodedata.category(chr(cp)))
        return value


def _spaced(cp: int) -> str:
    return f" {chr(cp)} "


def _clean_and_space_cjk(cp: int, category: str):  # steps 1 and 2
    return None if is_removed(cp, category) else _spaced(cp) if is_cjk(cp) else cp


def _strip_marks_and_space_punctuation(cp: int, category: str):  # step 3's Mn, step 4
    return None if category == "Mn" else _spaced(cp) if is_punctuation(cp, category) else cp


def _clean_and_space_cased(cp: int, category: str):  # steps 1, 2 and 4 (no step 3 to separate them)
    if is_removed(cp, category):
        return None
    return _spaced(cp) if is_cjk(cp) or is_punctuation(cp, category) else cp


class Normalizer:
    """Steps 1-4: ``normalize(text).split()`` are the original's words in a text, ``words(piece)``
    those of a piece of raw text without whitespace."""

    def __init__(self, lowercase: bool):
        self.lowercase = lowercase
        if lowercase:
            self._before_lower = _TranslationTable(_clean_and_space_cjk)
            self._after_lower = _TranslationTable(_strip_marks_and_space_punctuation)
        else:
            self._before_lower = _TranslationTable(_clean_and_space_cased)

    def normalize(self, text: str) -> str:
        text = text.translate(self._before_lower)
        if self.lowercase:
            text = unicodedata.normalize("NFD", text.lower()).translate(self._after_lower)
        return text

    def words(self, piece: str) -> list[str]:
        """The original's words in a piece of raw text that has no whitespace."""
        if piece.isascii() and piece.isalnum():  # nothing to clean, split or strip
            return [piece.lower() if self.lowercase else piece]
        if piece.isascii() and piece.isprintable():  # no cleaning, CJK or accents
            return _ascii_words(piece.lower() if self.lowercase else piece)
        return self.normalize(piece).split()


# ASCII text without control characters only needs its punctuation split off.
_ASCII_PUNCTUATION = re.escape(
    "".join(c for c in map(chr, range(128)) if is_punctuation(ord(c), unicodedata.category(c)))
)
_ascii_words = re.compile(f"[^{_ASCII_PUNCTUATION}]+|[{_ASCII_PUNCTUATION}]").findall


_NORMALIZERS = {True: Normalizer(True), False: Normalizer(False)}


def normalizer(lowercase: bool) -> Normalizer:
    """The shared `Normalizer` (its tables fill up as characters are met)."""
    return _NORMALIZERS[bool(lowercase)]


def basic_tokenize(text: str, lowercase: bool = True) -> list[str]:
    """The original `BasicTokenizer.tokenize`: the words WordPiece then cuts (steps 1-4)."""
    return normalizer(lowercase).normalize(text).split()


def splittable(text: str) -> str:
    """`text` without the characters that step 1 deletes but that would disturb ``str.split``:
    `WHITESPACE_THAT_IS_REMOVED`, and NUL. Then ``splittable(text).split()`` are the pieces of
    raw text that steps 1-4 turn into words one by one."""
    if any(c in text for c in _DELETED_BEFORE_SPLITTING):
        text = text.translate(_DELETE_BEFORE_SPLITTING)
    return text


class WordIds(dict):
    """Step 5, cached: normalised word -> its wordpiece ids, computed on first look-up: the
    greedy longest-match-first pieces, or ``(unk_id,)``."""

    def __init__(self, vocab: Mapping[str, int], unk_id: int):
        super().__init__()
        self.unk_id = unk_id
        self.starts = vocab
        # continuations without their "##": one slice per candidate instead of two strings
        self.continuations = {t[2:]: i for t, i in vocab.items() if t.startswith("##")}
        # no longer match exists: candidates start there
        self.longest_start = max(map(len, vocab), default=0)
        self.longest_continuation = max(map(len, self.continuations), default=0)

    def __missing__(self, word: str) -> tuple[int, ...]:
        n = len(word)
        found = self.starts.get(word)
        if found is not None and n <= MAX_INPUT_CHARS_PER_WORD:
            ids = (found,)
        elif n > MAX_INPUT_CHARS_PER_WORD:
            ids = (self.unk_id,)
        else:
            ids = self._pieces(word)
        self[word] = ids
        return ids

    def _pieces(self, word: str) -> tuple[int, ...]:
        n, ids, start = len(word), [], 0
        table, longest = self.starts, self.longest_start
        while start < n:
            end = start + longest if start + longest < n else n
            while start < end:
                found = table.get(word[start:end])
                if found is not None:
                    break
                end -= 1
            else:
                return (self.unk_id,)
            ids.append(found)
            start = end
            table, longest = self.continuations, self.longest_continuation
        return tuple(ids)


class PieceIds(dict):
    """Steps 1-5 for batches of texts, exact, in pure Python (see the module docstring).

    A dict from raw pieces of text (no whitespace) to their ids, computed on first look-up;
    `ids` and `flat_ids` tokenize whole batches of texts with it.
    """

    MAX_CACHED = 500_000  # pieces and words each; the caches start over beyond this

    def __init__(self, vocab: Mapping[str, int], lowercase: bool, unk_id: int):
        super().__init__()
        self.normalizer = normalizer(lowercase)
        self.words = WordIds(vocab, unk_id)

    def __missing__(self, piece: str) -> tuple[int, ...]:
        if piece == _END:  # `flat_ids`'s end-of-text mark (`splittable` deletes NUL from texts)
            return self.setdefault(piece, (-1,))
        words = self.normalizer.words(piece)
        if len(words) == 1:
            ids = self.words[words[0]]
        else:
            ids = tuple(chain.from_iterable(map(self.words.__getitem__, words)))
        self[piece] = ids
        return ids

    def _limit_caches(self) -> None:
        if len(self) > self.MAX_CACHED or len(self.words) > self.MAX_CACHED:
            self.clear()
            self.words.clear()

    def ids(self, texts: list[str]) -> list[list[int]]:
        """Wordpiece ids of each text (no special tokens)."""
        self._limit_caches()
        joined = "\n".join(texts)
        if any(c in joined for c in _DELETED_BEFORE_SPLITTING):
            texts = list(map(splittable, texts))
        piece_ids = self.__getitem__
        return [list(chain.from_iterable(map(piece_ids, x.split()))) for x in texts]

    def flat_ids(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """`ids` as one int32 array of all texts' ids and an array of how many each text has."""
        if not texts:
            return np.zeros(0, np.int32), np.zeros(0, np.int64)
        self._limit_caches()
        text = "\n".join(texts)
        if text.count("\n") != len(texts) - 1:  # a newline in a text is a space
            text = "\n".join(x.replace("\n", " ") for x in texts)
        pieces = splittable(text).replace("\n", f" {_END} ").split()
        pieces.append(_END)
        ids = np.fromiter(chain.from_iterable(map(self.__getitem__, pieces)), np.int32)
        ends = np.flatnonzero(ids < 0)
        return ids[ids >= 0], np.diff(ends, prepend=-1) - 1


# ---------------------------------------------------------------------------- vocabulary


def load_vocab(path: str | os.PathLike) -> collections.OrderedDict[str, int]:
    """Reads a vocabulary file like the original `load_vocab`: one token per line, stripped;
    a repeated token keeps its first id (ids count distinct tokens)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise DataError(f"{path}: vocabulary file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected a vocab.txt file") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not valid UTF-8") from None
    # The original reads lines with readline(), which splits on "\n" only.
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    tokens = dict.fromkeys([line.strip() for line in lines])
    return collections.OrderedDict(zip(tokens, range(len(tokens)), strict=True))


def check_special_tokens(vocab: Mapping[str, int], path: str | os.PathLike) -> None:
    """A BERT vocabulary has ``[PAD] [UNK] [CLS] [SEP] [MASK]``; a `DataError` names the file."""
    missing = [t for t in SPECIAL_TOKENS if t not in vocab]
    if missing:
        raise DataError(
            f"{path}: vocabulary lacks the special token(s) {' '.join(missing)} "
            f"(a BERT vocab needs {' '.join(SPECIAL_TOKENS)})"
        )
