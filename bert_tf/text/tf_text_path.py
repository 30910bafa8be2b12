"""`BertTokenizer.tokenize_ids` on tensorflow-text's `FastWordpieceTokenizer` (C++), still exact.

tensorflow-text's `FastBertTokenizer` is fast but not exact: its normaliser maps each
character on its own (``ς`` -> ``σ``, ``½`` -> ``1⁄2``, ligatures split, control characters
become spaces, ...). So steps 1 and 3 of `bert_tf.text.rules` (cleaning, lowercasing and accent
stripping) are done here: ASCII bytes with one ``bytes.translate``, every stretch of non-ASCII
text with regular expressions over the whole Unicode range (`Folding`), widened to the
whitespace around it (the context rules of lowercasing and NFD stop there).
Only the splitting and WordPiece run in `FastWordpieceTokenizer`, whose character classes
agree with the original's for every code point except a short, checked list
(`compute_fast_path_exceptions`). Lines containing one of those or a lone surrogate, and lines
where a long word could make the two disagree on the 200-character limit, are tokenized by the
pure Python path instead. Big batches are cut into chunks that worker threads run through the
whole pipeline (tensorflow-text kernels release the GIL).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import unicodedata
from collections.abc import Callable

import numpy as np

from bert_tf.text.rules import (
    CJK_RANGES,
    MAX_INPUT_CHARS_PER_WORD,
    is_cjk,
    is_punctuation,
    is_removed,
)

logger = logging.getLogger(__name__)

# Code points where tensorflow-text's FastWordpieceTokenizer splits text differently from the
# original (whitespace / punctuation-or-CJK / word character), computed by
# `compute_fast_path_exceptions()` for the versions named here. Lines containing one of them
# take the exact Python path. With other versions the list is recomputed at first use.
_EXCEPTIONS_VERSIONS = ("14.0.0", "2.21.1")  # (unicodedata.unidata_version, tensorflow-text)
_FAST_PATH_EXCEPTIONS = (
    0x1C, 0x1D, 0x1E, 0x1F, 0x1B4E, 0x1B4F, 0x1B7F, 0x10D6E, 0x113D4, 0x113D5, 0x113D7,
    0x113D8, 0x11B00, 0x11B01, 0x11B02, 0x11B03, 0x11B04, 0x11B05, 0x11B06, 0x11B07, 0x11B08,
    0x11B09, 0x11BE1, 0x11F43, 0x11F44, 0x11F45, 0x11F46, 0x11F47, 0x11F48, 0x11F49, 0x11F4A,
    0x11F4B, 0x11F4C, 0x11F4D, 0x11F4E, 0x11F4F, 0x16D6D, 0x16D6E, 0x16D6F, 0x1E5FF,
)  # fmt: skip

# ASCII bytes the original drops (Cc except \t \n \r).
_ASCII_DELETE = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_ASCII_LOWER = bytes.maketrans(
    bytes(range(ord("A"), ord("Z") + 1)), bytes(range(ord("a"), ord("z") + 1))
)
# Batches are cut into chunks of at least this many characters for the worker threads.
CHUNK_CHARS = 1 << 16


def compute_fast_path_exceptions() -> tuple[int, ...]:
    """Code points (surrogates aside) on which tensorflow-text's FastWordpieceTokenizer
    pre-tokenization disagrees with the original tokenizer's split classes.

    For every code point c, ``"a" + c + "a"`` is tokenized with the vocabulary
    ``[UNK], a, ##a``: the result tells whether c is whitespace (``a a``), split off as its
    own word (``a [UNK] a``), a word character (``[UNK]``) or dropped (``a ##a``). The original's
    classes after cleaning and normalisation: whitespace is ``str.isspace`` (its final
    ``split()``), punctuation and CJK ideographs are split off, everything else is a word
    character. Takes a few seconds.
    """
    import tensorflow as tf
    import tensorflow_text as tf_text

    fw = tf_text.FastWordpieceTokenizer(
        ["[UNK]", "a", "##a"], token_out_type=tf.int32, max_bytes_per_word=100
    )
    cps = np.array([cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF])
    strings = [f"a{chr(cp)}a".encode() for cp in cps.tolist()]
    out = fw.tokenize(tf.constant(strings))
    values, splits = out.values.numpy(), out.row_splits.numpy()
    lengths = np.diff(splits)
    first = values[splits[:-1]]
    # classes: 0 whitespace, 1 split off, 2 word character, 3 anything else
    fast = np.full(len(cps), 3)
    second = values[np.minimum(splits[:-1] + 1, len(values) - 1)]
    third = values[np.minimum(splits[:-1] + 2, len(values) - 1)]
    fast[(lengths == 2) & (first == 1) & (second == 1)] = 0
    fast[(lengths == 3) & (first == 1) & (second == 0) & (third == 1)] = 1
    fast[(lengths == 1) & (first == 0)] = 2
    fast[cps == ord("a")] = 2  # "aaa" is one word: [a, ##a, ##a]
    orig = np.full(len(cps), 2)
    punct = [cp for cp in cps.tolist() if is_punctuation(cp, unicodedata.category(chr(cp)))]
    orig[np.isin(cps, punct)] = 1
    for lo, hi in CJK_RANGES:
        orig[(cps >= lo) & (cps <= hi)] = 1
    orig[np.isin(cps, [cp for cp in range(0x110000) if chr(cp).isspace()])] = 0
    return tuple(int(cp) for cp in cps[fast != orig])


@functools.cache
def _fast_path_exceptions() -> tuple[int, ...]:
    from importlib.metadata import version

    if (unicodedata.unidata_version, version("tensorflow-text")) == _EXCEPTIONS_VERSIONS:
        return _FAST_PATH_EXCEPTIONS
    logger.warning(
        "tensorflow-text %s / Unicode %s differ from the versions the fast-path exception "
        "list was made for %s; recomputing it (a few seconds).",
        version("tensorflow-text"),
        unicodedata.unidata_version,
        _EXCEPTIONS_VERSIONS,
    )
    return compute_fast_path_exceptions()


def _char_class(cps: list[int]) -> re.Pattern:
    ranges: list[list[int]] = []
    for cp in cps:  # ascending
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    body = "".join(
        re.escape(chr(lo)) + (f"-{re.escape(chr(hi))}" if hi > lo else "") for lo, hi in ranges
    )
    return re.compile(f"[{body}]" if body else "(?!)")


class Folding:
    """Steps 1 and 3 (cleaning; lowercasing, NFD, dropping Mn): what FastWordpiece is given.

    Regular expressions of the characters to delete over the whole Unicode range scan text
    much faster than looking at its characters one by one in Python; building them takes a
    second, once. Python's `re` tests a character against each range of a class in turn, but
    against a class of BMP characters with one table look-up: astral characters get their own
    patterns, run only on text that contains some."""

    def __init__(self):
        removed, marks = [], []
        for cp in range(0x110000):
            category = unicodedata.category(chr(cp))
            if is_removed(cp, category):
                removed.append(cp)
            elif category == "Mn":
                marks.append(cp)
        self.removed = _char_class([cp for cp in removed if cp < 0x10000])
        self.removed_astral = _char_class([cp for cp in removed if cp >= 0x10000])
        self.marks = _char_class([cp for cp in marks if cp < 0x10000])
        self.marks_astral = _char_class([cp for cp in marks if cp >= 0x10000])
        self.astral = re.compile("[\U00010000-\U0010ffff]")

    def fold(self, text: str, lowercase: bool) -> str:
        text = self.removed.sub("", text)
        if self.astral.search(text):
            text = self.removed_astral.sub("", text)
        if lowercase:
            text = self.marks.sub("", unicodedata.normalize("NFD", text.lower()))
            if self.astral.search(text):
                text = self.marks_astral.sub("", text)
        return text


@functools.cache
def _folding() -> Folding:
    return Folding()


def _matchable(token: str) -> bool:
    """Whether the original could ever produce this vocabulary entry as one wordpiece."""
    body = token[2:] if token.startswith("##") else token
    if not body:
        return False
    if len(body) == 1 and token == body:
        return True
    return not any(
        c.isspace()
        or is_punctuation(ord(c), unicodedata.category(c))
        or is_removed(ord(c), unicodedata.category(c))
        or is_cjk(ord(c))
        for c in body
    )


class TFTextPath:
    """Exact batch tokenization with tensorflow-text (imports TensorFlow).

    ``exact_ids(texts)`` is the pure Python path, used for the lines this one cannot do."""

    def __init__(
        self,
        inv_vocab: list[str],
        unk_id: int,
        lowercase: bool,
        exact_ids: Callable[[list[str]], list[list[int]]],
    ):
        import tensorflow as tf
        import tensorflow_text as tf_text

        self.tf = tf
        self.unk_id = unk_id
        self.lowercase = lowercase
        self.folding = _folding()
        self.exact_ids = exact_ids
        # FastWordpieceTokenizer would match a token with a space across two words; tokens the
        # original can never produce get a name no cleaned text contains (\x01 is always
        # removed), keeping every id in place.
        tokens = [
            t if t == "[UNK]" or _matchable(t) else f"\x01{i}" for i, t in enumerate(inv_vocab)
        ]
        self.model = tf_text.FastWordpieceTokenizer(
            tokens,
            suffix_indicator="##",
            max_bytes_per_word=MAX_INPUT_CHARS_PER_WORD,
            token_out_type=tf.int32,
            unknown_token="[UNK]",
        )
        exceptions = "".join(re.escape(chr(cp)) for cp in _fast_path_exceptions())
        self.unsafe_re = re.compile(f"[{exceptions}\ud800-\udfff]")  # and lone surrogates
        self.threads = max(1, min(4, os.cpu_count() or 1))
        self._pool = None
        self._pool_pid = None

    def tokenize_ids(self, texts: list[str]) -> list[list[int]]:
        """Ids of each text: chunks of the batch on worker threads, so one chunk's Python steps
        overlap another's tensorflow-text kernel."""
        n = len(texts)
        joined = "\n".join(texts)
        if joined.count("\n") != n - 1:  # a newline is whitespace: same tokens
            texts = [x.replace("\n", " ") for x in texts]
        k = min(len(joined) // CHUNK_CHARS, 4 * self.threads, n)
        if k <= 1 or self.threads == 1:
            return self._chunk(texts)
        ends = np.cumsum(np.fromiter(map(len, texts), np.int64, n) + 1)
        cuts = np.searchsorted(ends, np.arange(1, k) * (ends[-1] / k))
        bounds = sorted({0, n, *cuts.tolist()})
        if self._pool is None or self._pool_pid != os.getpid():  # none yet, or forked
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="bert_tf_tok")
            self._pool_pid = os.getpid()
        parts = self._pool.map(
            lambda ab: self._chunk(texts[ab[0] : ab[1]]), zip(bounds[:-1], bounds[1:], strict=True)
        )
        out: list[list[int]] = []
        for part in parts:
            out.extend(part)
        return out

    def _chunk(self, texts: list[str]) -> list[list[int]]:
        tf = self.tf
        n = len(texts)
        joined = "\n".join(texts)
        # ASCII: lowercase (if asked) and drop control bytes in one C pass over everything.
        data = joined.encode("utf-8", "surrogatepass").translate(
            _ASCII_LOWER if self.lowercase else None, _ASCII_DELETE
        )
        slow: list[int] = []
        if not joined.isascii():
            data, slow = self._normalize_non_ascii(data)
        lines = data.split(b"\n")
        if len(lines) != n:  # pragma: no cover - guarded by construction
            raise AssertionError("line count changed during normalisation")
        for i in slow:  # the exact path does these
            lines[i] = b""
        ids, starts, ends = self.model.tokenize_with_offsets(tf.constant(lines, dtype=tf.string))
        values, splits = ids.values.numpy(), ids.row_splits.numpy()
        # FastWordpiece limits words to 200 *bytes*, the original to 200 characters: a line
        # where [UNK] replaced a word of over 200 bytes goes the exact way.
        at = np.flatnonzero(values == self.unk_id)
        if at.size:
            width = ends.values.numpy()[at] - starts.values.numpy()[at]
            at = at[width > MAX_INPUT_CHARS_PER_WORD]
            slow.extend(np.searchsorted(splits, at, side="right") - 1)
        vals, sp = values.tolist(), splits.tolist()
        out = list(map(vals.__getitem__, map(slice, sp[:-1], sp[1:])))
        slow = sorted(set(slow))
        for i, ids_i in zip(slow, self.exact_ids([texts[i] for i in slow]), strict=True):
            out[i] = ids_i
        return out

    def _normalize_non_ascii(self, data: bytes) -> tuple[bytes, list[int]]:
        """Normalises the non-ASCII parts of ASCII-normalised UTF-8 ``data``.

        Each stretch of non-ASCII bytes is widened to the ASCII whitespace around it (nearby
        stretches merged), decoded and folded, which equals folding everything because the
        context rules of lowercasing and NFD never cross whitespace. Returns the
        new bytes and the lines (``\\n``-separated) that contain a character the fast path does
        not handle exactly.
        """
        arr = np.frombuffer(data, np.uint8)
        hi = np.flatnonzero(arr >= 0x80)
        brk = np.flatnonzero(np.diff(hi) > 1)
        run_starts = hi[np.concatenate([[0], brk + 1])]
        run_ends = hi[np.concatenate([brk, [len(hi) - 1]])] + 1
        ws = np.flatnonzero((arr == 32) | (arr == 10) | (arr == 9) | (arr == 13))
        i = np.searchsorted(ws, run_starts)
        starts = np.where(i > 0, ws[np.maximum(i - 1, 0)] + 1, 0) if ws.size else run_starts * 0
        j = np.searchsorted(ws, run_ends)
        ends = (
            np.where(j < ws.size, ws[np.minimum(j, ws.size - 1)], arr.size)
            if ws.size
            else (np.full_like(run_ends, arr.size))
        )
        # merge stretches less than 64 bytes apart (fewer Python calls on non-Latin text)
        new_group = np.concatenate([[True], starts[1:] - ends[:-1] > 64])
        g_starts = starts[new_group].tolist()
        g_ends = np.concatenate([ends[np.flatnonzero(new_group)[1:] - 1], ends[-1:]]).tolist()
        fold, unsafe = self.folding.fold, self.unsafe_re
        pieces: list[bytes] = []
        bad_at: list[int] = []
        size, prev = 0, 0
        for a, b in zip(g_starts, g_ends, strict=True):
            pieces.append(data[prev:a])
            size += a - prev
            norm = fold(data[a:b].decode("utf-8", "surrogatepass"), self.lowercase)
            if unsafe.search(norm):  # (rare) byte offsets of every such character
                for m in unsafe.finditer(norm):
                    bad_at.append(size + len(norm[: m.start()].encode("utf-8", "surrogatepass")))
            piece = norm.encode("utf-8", "surrogatepass")
            pieces.append(piece)
            size += len(piece)
            prev = b
        pieces.append(data[prev:])
        out = b"".join(pieces)
        slow: list[int] = []
        if bad_at:
            newlines = np.flatnonzero(np.frombuffer(out, np.uint8) == 10)
            slow = sorted(set(np.searchsorted(newlines, bad_at).tolist()))
        return out, slow
