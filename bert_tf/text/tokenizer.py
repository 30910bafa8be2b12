"""The BERT WordPiece tokenizer, exactly as google-research/bert's `tokenization.py`, and fast.

The original algorithm (`FullTokenizer`), step by step:

1. clean the text: drop NUL, U+FFFD and control characters (Unicode categories Cc and Cf,
   except tab, newline and carriage return, which count as whitespace);
2. put spaces around every CJK ideograph, so each one becomes a word of its own;
3. split on whitespace; with ``lowercase=True`` each piece is lowercased (Python's
   ``str.lower``, which knows the Greek final sigma), decomposed with NFD, and its
   non-spacing marks (category Mn) are dropped -- this strips accents;
4. split off every punctuation character (Unicode P* categories and all non-alphanumeric
   ASCII) as a word of its own;
5. WordPiece: each word is cut greedily into the longest vocabulary entries, left to right,
   continuations spelled with a ``##`` prefix; a word that cannot be cut, or that is longer
   than 200 characters, becomes ``[UNK]``.

`BertTokenizer.tokenize` runs those steps in plain Python (no TensorFlow import).

`BertTokenizer.tokenize_ids` is the fast batch path. tensorflow-text's `FastBertTokenizer`
is fast but not exact: its normaliser maps each character on its own (``ς`` -> ``σ``,
``½`` -> ``1⁄2``, ligatures split, control characters become spaces, ...). So we do
steps 1 and 3's normalisation ourselves, with whole-string C-speed operations (``bytes.translate``
for ASCII, ``str.lower`` / ``unicodedata.normalize`` / one regex for the rest), which is exact
because lowercasing context (final sigma) and NFD reordering never cross whitespace. Only
the splitting and WordPiece (steps 2, 4, 5) run in tensorflow-text's `FastWordpieceTokenizer`
(C++), whose character classes agree with the original for every code point except a short,
checked list (`compute_fast_path_exceptions`). Lines containing one of those, or a lone surrogate, and
lines where a long word could make the two disagree on the 200-character limit, are
tokenized by the exact Python path instead. Every step is compared with the original code in
`tests/test_tokenizer.py`.
"""

from __future__ import annotations

import collections
import functools
import json
import logging
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from bert_tf.errors import DataError

logger = logging.getLogger(__name__)

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
# The fast path cuts batches into chunks of at least this many characters for its worker
# threads (tensorflow-text kernels release the GIL).
_CHUNK_CHARS = 1 << 16


def is_cjk(cp: int) -> bool:
    """True for code points the original BERT tokenizer treats as CJK ideographs."""
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def _is_punctuation_cat(cp: int, cat: str) -> bool:
    return (
        (33 <= cp <= 47)
        or (58 <= cp <= 64)
        or (91 <= cp <= 96)
        or (123 <= cp <= 126)
        or (cat.startswith("P"))
    )


def _ranges(codepoints: Iterable[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for cp in sorted(codepoints):
        if out and cp == out[-1][1] + 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def _class_body(ranges: Iterable[tuple[int, int]]) -> str:
    parts = []
    for lo, hi in ranges:
        a = re.escape(chr(lo))
        parts.append(a if lo == hi else f"{a}-{re.escape(chr(hi))}")
    return "".join(parts)


def _char_class(ranges: Sequence[tuple[int, int]]) -> re.Pattern:
    if not ranges:
        return re.compile(r"(?!x)x")  # matches nothing
    return re.compile(f"[{_class_body(ranges)}]")


class _Tables:
    """Character classes of the original tokenizer, built from this Python's `unicodedata`
    (the module the original itself uses), as compiled regular expressions."""

    def __init__(self):
        removed, mn, punct = [], [], []
        category = unicodedata.category
        for cp in range(0x110000):
            cat = category(chr(cp))
            if cp == 0xFFFD or (cat in ("Cc", "Cf") and cp not in (9, 10, 13)):
                removed.append(cp)
            elif cat == "Mn":
                mn.append(cp)
            if _is_punctuation_cat(cp, cat):
                punct.append(cp)
        self.removed = frozenset(removed)
        self.mn = frozenset(mn)
        self.punct = frozenset(punct)
        removed_r, mn_r, punct_r = _ranges(removed), _ranges(mn), _ranges(punct)
        self.remove_bmp_re = _char_class([r for r in removed_r if r[1] < 0x10000])
        self.remove_astral_re = _char_class([r for r in removed_r if r[1] >= 0x10000])
        # Python's `re` tests a character against each range of a class in turn; a class of
        # BMP characters only compiles to one table look-up, so astral ranges get their own
        # pattern that runs only on text containing astral characters.
        self.mn_bmp_re = _char_class([r for r in mn_r if r[1] < 0x10000])
        self.mn_astral_re = _char_class([r for r in mn_r if r[1] >= 0x10000])
        self.astral_re = re.compile("[\U00010000-\U0010ffff]")
        cjk_r = sorted(CJK_RANGES)
        self.cjk_bmp_re = _char_class([r for r in cjk_r if r[1] < 0x10000])
        self.cjk_astral_re = _char_class([r for r in cjk_r if r[1] >= 0x10000])
        self.punct_bmp_re = _char_class([r for r in punct_r if r[1] < 0x10000])
        self.punct_astral_re = _char_class([r for r in punct_r if r[1] >= 0x10000])


@functools.cache
def _tables() -> _Tables:
    return _Tables()


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

    tables = _tables()
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
    orig[np.isin(cps, np.fromiter(tables.punct, np.int64))] = 1
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


def basic_tokenize(text: str | bytes, lowercase: bool = True) -> list[str]:
    """The original `BasicTokenizer.tokenize`: the words WordPiece then cuts.

    Drops NUL, U+FFFD, Cc and Cf characters; isolates CJK ideographs; with ``lowercase``,
    lowercases, applies NFD and drops Mn; isolates punctuation; splits on whitespace.
    Lowercasing and NFD run on the whole text instead of word by word, which is the same
    (their context rules stop at whitespace); punctuation is isolated by putting spaces around
    it, which is what the original's split-then-join does.
    """
    t = _tables()
    text = _to_str(text)
    text = t.remove_bmp_re.sub("", text)
    astral = t.astral_re.search(text) is not None
    if astral:
        text = t.remove_astral_re.sub("", text)
        text = t.cjk_astral_re.sub(r" \g<0> ", text)
    text = t.cjk_bmp_re.sub(r" \g<0> ", text)
    if lowercase:
        text = unicodedata.normalize("NFD", text.lower())
        text = t.mn_bmp_re.sub("", text)
        astral = t.astral_re.search(text) is not None
        if astral:
            text = t.mn_astral_re.sub("", text)
    text = t.punct_bmp_re.sub(r" \g<0> ", text)
    if astral:
        text = t.punct_astral_re.sub(r" \g<0> ", text)
    return text.split()


def load_vocab(path: str | os.PathLike) -> collections.OrderedDict[str, int]:
    """Reads a vocabulary file like the original `load_vocab`: one token per line, stripped;
    a repeated token keeps its first id (ids count distinct tokens)."""
    vocab: collections.OrderedDict[str, int] = collections.OrderedDict()
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
    for line in lines:
        token = line.strip()
        if token not in vocab:
            vocab[token] = len(vocab)
    return vocab


def _truncate_seq_pair(a: list[int], b: list[int], max_length: int) -> None:
    """The original `truncate_seq_pair`: pop from the end of the longer one (b on ties)."""
    while len(a) + len(b) > max_length:
        if len(a) > len(b):
            a.pop()
        else:
            b.pop()


class BertTokenizer:
    """BERT WordPiece tokenizer, token-for-token identical to google-research/bert.

    Args:
      vocab_path: a ``vocab.txt`` (one token per line; must contain ``[PAD] [UNK] [CLS]
        [SEP] [MASK]``).
      lowercase: lowercase and strip accents (uncased models) or not (cased models).

    ``tokenize(text)`` gives wordpiece strings (pure Python), ``tokenize_ids(texts)`` ids
    for a batch, ``tok(texts, pair_texts, max_length)`` model inputs, ``tf_tokenize`` /
    ``tf_encode`` the same inside ``tf.data``. ``tokenize_ids`` and ``tok(...)`` load
    tensorflow-text on first use (they fall back to the exact Python path without it);
    importing this module and ``tokenize`` never import TensorFlow.
    """

    def __init__(self, vocab_path: str | os.PathLike, lowercase: bool = True):
        self.vocab_path = str(vocab_path)
        self.lowercase = bool(lowercase)
        self.vocab = load_vocab(vocab_path)
        missing = [t for t in SPECIAL_TOKENS if t not in self.vocab]
        if missing:
            raise DataError(
                f"{vocab_path}: vocabulary lacks the special token(s) {' '.join(missing)} "
                f"(a BERT vocab needs {' '.join(SPECIAL_TOKENS)})"
            )
        self.inv_vocab = list(self.vocab)
        self.pad_id = self.vocab["[PAD]"]
        self.unk_id = self.vocab["[UNK]"]
        self.cls_id = self.vocab["[CLS]"]
        self.sep_id = self.vocab["[SEP]"]
        self.mask_id = self.vocab["[MASK]"]
        self._wp_cache: dict[str, list[int]] = {}
        self._fast = None  # built on first use of the fast path

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, lowercase: bool | None = None):
        """Loads ``vocab.txt`` from a model directory and finds its casing.

        Casing, first found wins: the ``lowercase`` argument; ``do_lower_case`` in
        ``tokenizer_config.json`` (Hugging Face); ``lowercase`` of a ``BertNormalizer`` in
        ``tokenizer.json``; ``do_lower_case`` in ``config.json``; for Google checkpoints
        (``bert_config.json``, which records no casing) the directory name, as the original
        `validate_case_matches_checkpoint` does: ``cased`` / ``multi_cased`` -> cased,
        ``uncased`` / ``multilingual`` / ``chinese`` -> lowercased. Otherwise lowercase (the
        original default) with a warning. A Hugging Face config asking for something the
        original algorithm cannot do (``strip_accents`` different from ``do_lower_case``,
        ``tokenize_chinese_chars: false``) is an error.
        """
        d = Path(directory)
        if not d.is_dir():
            raise DataError(f"{d}: not a directory")
        vocab = d / "vocab.txt"
        if not vocab.is_file():
            raise DataError(f"{vocab}: vocabulary file not found")

        def read_json(name):
            p = d / name
            if not p.is_file():
                return None
            try:
                return json.loads(p.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as err:
                raise DataError(f"{p}: not valid JSON ({err})") from None

        found = lowercase
        tok_cfg = read_json("tokenizer_config.json") or {}
        if found is None and isinstance(tok_cfg.get("do_lower_case"), bool):
            found = tok_cfg["do_lower_case"]
        if found is None:
            norm = (read_json("tokenizer.json") or {}).get("normalizer") or {}
            if norm.get("type") == "BertNormalizer" and isinstance(norm.get("lowercase"), bool):
                found = norm["lowercase"]
        if found is None:
            cfg = read_json("config.json") or {}
            if isinstance(cfg.get("do_lower_case"), bool):
                found = cfg["do_lower_case"]
        if found is None:
            name = d.resolve().name.lower()
            if re.search(r"(^|[^a-z])(uncased|multilingual|chinese)", name):
                found = True
            elif re.search(r"(^|[^a-z])(multi_)?cased", name):
                found = False
        if found is None:
            logger.warning(
                "%s: no casing found (tokenizer_config.json do_lower_case, tokenizer.json, "
                "config.json or an (un)cased directory name); lowercasing, like the original "
                "default. Pass lowercase= to choose.",
                d,
            )
            found = True
        strip = tok_cfg.get("strip_accents")
        if strip is not None and bool(strip) != bool(found):
            raise DataError(
                f"{d / 'tokenizer_config.json'}: strip_accents={strip} with "
                f"do_lower_case={found} is not the original BERT algorithm"
            )
        if tok_cfg.get("tokenize_chinese_chars") is False:
            raise DataError(
                f"{d / 'tokenizer_config.json'}: tokenize_chinese_chars=false is not the "
                "original BERT algorithm"
            )
        return cls(vocab, lowercase=found)

    @property
    def vocab_size(self) -> int:
        return len(self.inv_vocab)

    def __repr__(self):
        return (
            f"BertTokenizer({self.vocab_path!r}, lowercase={self.lowercase}, "
            f"vocab_size={self.vocab_size})"
        )

    # ------------------------------------------------------------------ exact Python path

    def _clean_normalize(self, text: str) -> str:
        """Step 1 (drop NUL, U+FFFD, Cc/Cf) and, with ``lowercase=True``, lowercase + NFD +
        drop Mn. CJK spacing and splitting are left to the caller."""
        t = _tables()
        text = t.remove_bmp_re.sub("", text)
        if t.astral_re.search(text):
            text = t.remove_astral_re.sub("", text)
        return self._normalize(text)

    def _normalize(self, cleaned: str) -> str:
        """Lowercase, NFD, drop Mn (for ``lowercase=True``), on cleaned text.

        Done on the whole text rather than per whitespace-separated piece as the original
        does: the same result, because `str.lower`'s only context rule (Greek final sigma)
        and NFD's canonical reordering both stop at whitespace."""
        if not self.lowercase:
            return cleaned
        t = _tables()
        text = unicodedata.normalize("NFD", cleaned.lower())
        text = t.mn_bmp_re.sub("", text)
        if t.astral_re.search(text):
            text = t.mn_astral_re.sub("", text)
        return text

    def basic_tokenize(self, text: str) -> list[str]:
        """Steps 1-4: cleaning, CJK splitting, (lowercasing), punctuation splitting."""
        return basic_tokenize(text, self.lowercase)

    def _wordpiece_ids(self, word: str) -> list[int]:
        ids = self._wp_cache.get(word)
        if ids is not None:
            return ids
        vocab = self.vocab
        if len(word) > MAX_INPUT_CHARS_PER_WORD:
            ids = [self.unk_id]
        else:
            ids = []
            start, n = 0, len(word)
            while start < n:
                end = n
                found = None
                while start < end:
                    sub = word[start:end] if start == 0 else "##" + word[start:end]
                    found = vocab.get(sub)
                    if found is not None:
                        break
                    end -= 1
                if found is None:
                    ids = [self.unk_id]
                    break
                ids.append(found)
                start = end
        if len(self._wp_cache) > 500_000:
            self._wp_cache.clear()
        self._wp_cache[word] = ids
        return ids

    def _python_ids(self, text: str) -> list[int]:
        out: list[int] = []
        for word in self.basic_tokenize(text):
            out.extend(self._wordpiece_ids(word))
        return out

    def tokenize(self, text: str) -> list[str]:
        """Wordpieces of one text, no special tokens (pure Python, no TensorFlow)."""
        inv = self.inv_vocab
        return [inv[i] for i in self._python_ids(text)]

    # ------------------------------------------------------------------ fast batch path

    def _fast_state(self):
        if self._fast is None:
            try:
                import tensorflow as tf
                import tensorflow_text as tf_text
            except ImportError as err:  # pragma: no cover - exercised only without tf-text
                logger.warning("tensorflow-text unavailable (%s): using the Python path", err)
                self._fast = False
                return self._fast
            t = _tables()
            tokens = []
            for i, tok in enumerate(self.inv_vocab):
                body = tok[2:] if tok.startswith("##") else tok
                matchable = bool(body) and (
                    len(body) == 1
                    and tok == body
                    or not any(
                        c.isspace() or ord(c) in t.punct or ord(c) in t.removed or is_cjk(ord(c))
                        for c in body
                    )
                )
                # FastWordpieceTokenizer would match a token with a space across two words;
                # tokens the original can never produce get a name no cleaned text contains
                # (\x01 is always removed), keeping every id in place.
                tokens.append(tok if matchable or tok == "[UNK]" else f"\x01{i}")
            model = tf_text.FastWordpieceTokenizer(
                tokens,
                suffix_indicator="##",
                max_bytes_per_word=MAX_INPUT_CHARS_PER_WORD,
                token_out_type=tf.int32,
                unknown_token="[UNK]",
            )
            unsafe = [*_fast_path_exceptions(), *range(0xD800, 0xE000)]
            self._fast = {
                "tf": tf,
                "model": model,
                "unsafe_re": _char_class(_ranges(unsafe)),
                "threads": max(1, min(4, os.cpu_count() or 1)),
                "pool": None,
                "pid": None,
            }
        return self._fast

    def tokenize_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Wordpiece ids for a batch of texts, no special tokens. Exact and fast.

        Big batches are cut into chunks that worker threads run through the whole pipeline,
        so one chunk's Python steps overlap another's tensorflow-text kernel."""
        if isinstance(texts, (str, bytes)):
            raise TypeError("tokenize_ids expects a list of texts; use tokenize() for one")
        texts = list(texts)
        n = len(texts)
        if n == 0:
            return []
        try:
            joined = "\n".join(texts)
        except TypeError:
            texts = [_to_str(x) for x in texts]
            joined = "\n".join(texts)
        state = self._fast_state()
        if not state:
            return [self._python_ids(x) for x in texts]
        if joined.count("\n") != n - 1:  # a newline is whitespace: same tokens
            texts = [x.replace("\n", " ") for x in texts]
        k = min(len(joined) // _CHUNK_CHARS, 4 * state["threads"], n)
        if k <= 1 or state["threads"] == 1:
            return self._fast_chunk(state, texts)
        ends = np.cumsum(np.fromiter(map(len, texts), np.int64, n) + 1)
        cuts = np.searchsorted(ends, np.arange(1, k) * (ends[-1] / k))
        bounds = sorted({0, n, *cuts.tolist()})
        if state["pool"] is None or state["pid"] != os.getpid():  # none yet, or forked
            from concurrent.futures import ThreadPoolExecutor

            state["pool"] = ThreadPoolExecutor(state["threads"], thread_name_prefix="bert_tf_tok")
            state["pid"] = os.getpid()
        parts = state["pool"].map(
            lambda ab: self._fast_chunk(state, texts[ab[0] : ab[1]]),
            zip(bounds[:-1], bounds[1:], strict=True),
        )
        out: list[list[int]] = []
        for part in parts:
            out.extend(part)
        return out

    def _fast_chunk(self, state, texts: list[str]) -> list[list[int]]:
        """The fast path for texts without newlines."""
        tf, model = state["tf"], state["model"]
        n = len(texts)
        joined = "\n".join(texts)
        # ASCII: lowercase (if asked) and drop control bytes in one C pass over everything.
        data = joined.encode("utf-8", "surrogatepass").translate(
            _ASCII_LOWER if self.lowercase else None, _ASCII_DELETE
        )
        slow: list[int] = []
        if not joined.isascii():
            data, slow = self._normalize_non_ascii(data, state["unsafe_re"])
        lines = data.split(b"\n")
        if len(lines) != n:  # pragma: no cover - guarded by construction
            raise AssertionError("line count changed during normalisation")
        for i in slow:  # the exact path does these
            lines[i] = b""
        ids, starts, ends = model.tokenize_with_offsets(tf.constant(lines, dtype=tf.string))
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
        for i in set(slow):
            out[i] = self._python_ids(texts[i])
        return out

    def _normalize_non_ascii(self, data: bytes, unsafe_re) -> tuple[bytes, list[int]]:
        """Cleans and normalises the non-ASCII parts of ASCII-normalised UTF-8 ``data``.

        Each stretch of non-ASCII bytes is widened to the ASCII whitespace around it (nearby
        stretches merged), decoded and run through `_clean_normalize`; the context rules of
        lowercasing and NFD never cross whitespace, so this equals normalising everything.
        Returns the new bytes and the lines (``\n``-separated) that contain a character the
        fast path does not handle exactly.
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
        unsafe = unsafe_re.search
        pieces: list[bytes] = []
        bad_at: list[int] = []
        size, prev = 0, 0
        for a, b in zip(g_starts, g_ends, strict=True):
            pieces.append(data[prev:a])
            size += a - prev
            norm = self._clean_normalize(data[a:b].decode("utf-8", "surrogatepass"))
            if unsafe(norm):  # (rare) byte offsets of every such character
                for m in unsafe_re.finditer(norm):
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

    # ------------------------------------------------------------------ ids and model inputs

    def convert_tokens_to_ids(self, tokens: Iterable[str]) -> list[int]:
        """Ids of wordpieces; an unknown token is a KeyError, as in the original."""
        return [self.vocab[t] for t in tokens]

    def convert_ids_to_tokens(self, ids: Iterable[int]) -> list[str]:
        inv = self.inv_vocab
        return [inv[int(i)] for i in ids]

    def __call__(
        self,
        texts: str | Sequence[str],
        pair_texts: str | Sequence[str] | None = None,
        max_length: int = 128,
    ) -> dict[str, np.ndarray]:
        """Model inputs ``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]``, padded to
        ``max_length``, truncated like the original (A alone: keep the first
        ``max_length - 2``; pairs: `truncate_seq_pair` to ``max_length - 3``).

        Returns int32 arrays ``token_ids``, ``segment_ids``, ``padding_mask`` of shape
        ``(batch, max_length)``.
        """
        if isinstance(texts, (str, bytes)):
            texts = [texts]
            if isinstance(pair_texts, (str, bytes)):
                pair_texts = [pair_texts]
        if pair_texts is not None and len(pair_texts) != len(texts):
            raise ValueError(
                f"texts and pair_texts differ in length ({len(texts)} vs {len(pair_texts)})"
            )
        need = 3 if pair_texts is not None else 2
        if max_length < need:
            raise ValueError(f"max_length={max_length} leaves no room for tokens")
        a_ids = self.tokenize_ids(list(texts))
        b_ids = self.tokenize_ids(list(pair_texts)) if pair_texts is not None else None
        n = len(a_ids)
        token_ids = np.full((n, max_length), self.pad_id, np.int32)
        segment_ids = np.zeros((n, max_length), np.int32)
        padding_mask = np.zeros((n, max_length), np.int32)
        for i in range(n):
            a = a_ids[i]
            if b_ids is None:
                row = [self.cls_id, *a[: max_length - 2], self.sep_id]
                len_a = len(row)
            else:
                a, b = list(a), list(b_ids[i])
                _truncate_seq_pair(a, b, max_length - 3)
                row = [self.cls_id, *a, self.sep_id, *b, self.sep_id]
                len_a = len(a) + 2
                segment_ids[i, len_a : len(row)] = 1
            token_ids[i, : len(row)] = row
            padding_mask[i, : len(row)] = 1
        return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}

    # ------------------------------------------------------------------ tf.data

    def tf_tokenize(self, texts):
        """``tf.string`` tensor (scalar or 1-D) -> int32 wordpiece ids (``tf.RaggedTensor``
        for 1-D, ``tf.Tensor`` for a scalar), usable in ``tf.data.Dataset.map``.

        Runs `tokenize_ids` through ``tf.py_function``, so it is exact for every input, but:
        it needs the Python interpreter (no SavedModel/TFLite export, not inside a TPU or XLA
        program), it runs on the host under the GIL, and bytes are decoded as UTF-8 with
        invalid sequences dropped (the original's `convert_to_unicode`).
        """
        import tensorflow as tf

        texts = tf.convert_to_tensor(texts, dtype=tf.string)
        rank = texts.shape.rank
        if rank not in (0, 1):
            raise ValueError(f"tf_tokenize expects a scalar or 1-D string tensor, got {texts}")

        def run(x):
            rows = self.tokenize_ids([s.decode("utf-8", "ignore") for s in x.numpy()])
            lengths = np.array([len(r) for r in rows], np.int64)
            splits = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
            values = np.fromiter((i for r in rows for i in r), np.int32, int(splits[-1]))
            return values, splits

        values, splits = tf.py_function(run, [tf.reshape(texts, [-1])], [tf.int32, tf.int64])
        values.set_shape([None])
        splits.set_shape([None])
        ragged = tf.RaggedTensor.from_row_splits(values, splits, validate=False)
        return ragged[0] if rank == 0 else ragged

    def tf_encode(self, texts, pair_texts=None, max_length: int = 128):
        """`__call__` for a 1-D ``tf.string`` batch inside ``tf.data``: a dict of int32
        ``(batch, max_length)`` tensors. Same limits as `tf_tokenize` (``tf.py_function``)."""
        import tensorflow as tf

        texts = tf.convert_to_tensor(texts, dtype=tf.string)
        inputs = [texts] if pair_texts is None else [texts, tf.convert_to_tensor(pair_texts)]

        def run(*xs):
            decoded = [[s.decode("utf-8", "ignore") for s in x.numpy()] for x in xs]
            out = self(decoded[0], decoded[1] if len(decoded) > 1 else None, max_length)
            return out["token_ids"], out["segment_ids"], out["padding_mask"]

        outs = tf.py_function(run, inputs, [tf.int32, tf.int32, tf.int32])
        names = ("token_ids", "segment_ids", "padding_mask")
        result = {}
        for name, t in zip(names, outs, strict=True):
            t.set_shape([texts.shape[0], max_length])
            result[name] = t
        return result


def _to_str(text) -> str:
    """The original `convert_to_unicode`: str as is, bytes decoded as UTF-8 ignoring errors."""
    if isinstance(text, str):
        return text
    if isinstance(text, bytes):
        return text.decode("utf-8", "ignore")
    raise TypeError(f"expected str or bytes, got {type(text).__name__}")
