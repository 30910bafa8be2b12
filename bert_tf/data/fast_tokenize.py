"""Whole-chunk BERT WordPiece tokenization in pure Python, without TensorFlow.

`bert_tf.text.tokenizer.BertTokenizer.tokenize_ids` is exact and fast, but its fast path runs
tensorflow-text, and importing TensorFlow takes longer (5-10 s) than creating the
pretraining data for a few MB of text. This module gives the same ids with C-speed string
operations over a whole chunk of lines at once, so `bert-tf create-data` never imports TF:

1. the chunk is one string, lines joined by "\\n" (a line break is whitespace to the original);
2. the character classes of the original (`tokenization.py`: removed = NUL, U+FFFD, Cc/Cf
   except tab/LF/CR; CJK ideographs; punctuation = P* categories and non-alphanumeric
   ASCII; accents = Mn after NFD) are computed only for the characters that occur in the
   chunk, not for all 1.1 M code points;
3. removal, CJK spacing, lowercasing + NFD + Mn removal (uncased only) run on the whole
   string (`str.lower`/NFD contexts never cross whitespace, so this equals the original's
   per-word processing);
4. one regular expression splits words and punctuation and keeps the line breaks;
5. greedy longest-match-first WordPiece (``##`` continuations, words over 200 characters
   become [UNK]) runs once per distinct word, cached.

`tests/test_pretraining_data.py` checks the ids against `BertTokenizer` and the original
google-research `FullTokenizer` on the Wikipedia sample and on mixed-script text.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

import numpy as np

MAX_INPUT_CHARS_PER_WORD = 200

_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)
_ASCII_PUNCT = "".join(
    chr(c) for c in range(128) if 33 <= c <= 47 or 58 <= c <= 64 or 91 <= c <= 96 or 123 <= c <= 126
)
_ASCII_REMOVE = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_ASCII_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_LINE = "\x00"


def _is_cjk(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def _class(chars) -> str:
    return "".join(re.escape(c) for c in sorted(chars))


def _non_ascii(text: str) -> set[str]:
    return set(_NON_ASCII.findall(text)) if not text.isascii() else set()


class ChunkTokenizer:
    """`ids(lines)` -> (flat int32 ids, tokens per line), equal to `BertTokenizer.tokenize_ids`."""

    def __init__(self, vocab: dict[str, int], lowercase: bool = True, unk_token: str = "[UNK]"):
        self.vocab = vocab
        self.lowercase = lowercase
        self.unk_id = vocab[unk_token]
        self._max_piece = max(map(len, vocab)) if vocab else 1
        self._reset()

    def _wordpiece(self, word: str) -> tuple[int, ...]:
        if len(word) > MAX_INPUT_CHARS_PER_WORD:
            return (self.unk_id,)
        vocab, out, start, n = self.vocab, [], 0, len(word)
        longest = self._max_piece  # no vocab entry is longer; "##" adds 2 for continuations
        while start < n:
            end = min(n, start + longest)
            while start < end:
                found = vocab.get(word[start:end] if start == 0 else "##" + word[start:end])
                if found is not None:
                    break
                end -= 1
            else:
                return (self.unk_id,)
            out.append(found)
            start = end
        return tuple(out)

    def normalize(self, text: str) -> str:
        """Cleaning, CJK spacing and (uncased) lowercasing + accent stripping of `text`."""
        if text.isascii():
            data = text.encode("ascii").translate(_ASCII_LOWER if self.lowercase else None, _ASCII_REMOVE)
            return data.decode("ascii")
        chars = _non_ascii(text)
        removed = {c for c in chars if c == "\ufffd" or unicodedata.category(c) in ("Cc", "Cf")}
        removed.update(chr(b) for b in _ASCII_REMOVE if chr(b) in text)
        if removed:
            text = re.sub(f"[{_class(removed)}]", "", text)
        cjk = {c for c in chars if _is_cjk(ord(c))}
        if cjk:
            text = re.sub(f"[{_class(cjk)}]", r" \g<0> ", text)
        if self.lowercase:
            text = unicodedata.normalize("NFD", text.lower())
            marks = {c for c in _non_ascii(text) if unicodedata.category(c) == "Mn"}
            if marks:
                text = re.sub(f"[{_class(marks)}]", "", text)
        return text

    def _token_ids(self, tokens: set[str]) -> None:
        """Index whitespace-free tokens and store their ids: punctuation split, then WordPiece."""
        punct = set(_ASCII_PUNCT)
        punct.update(c for c in _non_ascii("".join(tokens)) if unicodedata.category(c).startswith("P"))
        body = _class(punct)
        split = re.compile(f"[{body}]|[^{body}]+").findall
        words, vocab, index = self._words, self.vocab, self._tokens
        new_ids: list[tuple[int, ...]] = []
        for token in tokens:
            pieces = (token,) if token.isalnum() else split(token)  # alnum: no punctuation
            out: tuple[int, ...] = ()
            for w in pieces:
                ids = words.get(w)
                if ids is None:
                    found = vocab.get(w)
                    ids = words[w] = (found,) if found is not None and len(w) <= MAX_INPUT_CHARS_PER_WORD else self._wordpiece(w)
                out += ids
            index[token] = len(index)
            new_ids.append(out)
        lens = np.fromiter(map(len, new_ids), np.int64, len(new_ids))
        self._flat = np.concatenate([self._flat, np.fromiter(itertools.chain.from_iterable(new_ids), np.int32, int(lens.sum()))])
        self._off = np.concatenate([self._off, len(self._flat) - lens.sum() + np.cumsum(lens) - lens])
        self._len = np.concatenate([self._len, lens])

    def _reset(self) -> None:
        self._words = {}  # word (no punctuation) -> ids
        self._tokens = {_LINE: 0}  # whitespace-free token -> index into the tables below
        self._flat = np.zeros(0, np.int32)  # ids of all indexed tokens, concatenated
        self._off = np.zeros(1, np.int64)  # where each token's ids start in _flat
        self._len = np.zeros(1, np.int64)  # how many ids (0 for the line marker)

    def ids(self, lines: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Ids of all `lines`, concatenated, and the number of ids of each line."""
        if not lines:
            return np.zeros(0, np.int32), np.zeros(0, np.int64)
        text = "\n".join(lines)
        if text.count("\n") != len(lines) - 1:  # a line break inside a text is whitespace
            text = "\n".join(line.replace("\n", " ") for line in lines)
        # NUL never survives normalization: use it as a line marker token
        tokens = self.normalize(text).replace("\n", f" {_LINE} ").split()
        if len(self._tokens) > 1_000_000:
            self._reset()
        new = set(tokens).difference(self._tokens)
        if new:
            self._token_ids(new)
        idx = np.fromiter(map(self._tokens.__getitem__, tokens), np.int64, len(tokens))
        lens = self._len[idx]
        total = int(lens.sum())
        starts = np.cumsum(lens) - lens
        flat = self._flat[np.repeat(self._off[idx] - starts, lens) + np.arange(total)]
        cum = np.concatenate([[0], np.cumsum(lens)])
        bounds = np.concatenate([[-1], np.flatnonzero(idx == 0), [len(idx)]])
        return flat, cum[bounds[1:]] - cum[bounds[:-1] + 1]

    def tokenize_ids(self, texts: list[str]) -> list[list[int]]:
        flat, lengths = self.ids(list(texts))
        ends = np.cumsum(lengths)
        values = flat.tolist()
        return [values[e - n : e] for e, n in zip(ends.tolist(), lengths.tolist(), strict=True)]
