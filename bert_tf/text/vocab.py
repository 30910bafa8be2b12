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
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from bert_tf.errors import DataError
from bert_tf.text.tokenizer import SPECIAL_TOKENS, basic_tokenize

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
    """Counts the words `BertTokenizer` would hand to WordPiece."""
    counts: collections.Counter = collections.Counter()
    buf: list[str] = []
    size = 0
    for line in lines:
        buf.append(line)
        size += len(line)
        if size >= _CHUNK_CHARS:  # newlines are whitespace: one call per chunk is the same
            counts.update(basic_tokenize("\n".join(buf), lowercase))
            buf, size = [], 0
    if buf:
        counts.update(basic_tokenize("\n".join(buf), lowercase))
    return counts


def _learner():
    from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib

    return wordpiece_tokenizer_learner_lib


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
    vocab = _learner().learn(
        sorted(word_counts.items()),
        vocab_size=vocab_size,
        reserved_tokens=reserved,
        lower_thresh=min_count,
        max_unique_chars=max_unique_chars,
        include_joiner_token=True,
        joiner="##",
    )
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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(t + "\n" for t in tokens))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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
