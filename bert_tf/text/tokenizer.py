"""`BertTokenizer`: the BERT WordPiece tokenizer, exactly as google-research/bert's
`tokenization.py` (``FullTokenizer``), and fast.

The rules live in `bert_tf.text.rules`, which is also the pure Python path: each distinct
whitespace-separated piece of raw text is tokenized once and cached (`PieceIds`). Batches
(``tokenize_ids``) go that way unless TensorFlow is the Keras backend: there they run on
tensorflow-text's C++ WordPiece with worker threads (`bert_tf.text.tf_text_path`), exact too.
Both are compared token for token with the original code in ``tests/test_tokenizer.py``.

Importing this module never imports TensorFlow, nor does tokenizing under another Keras
backend (``KERAS_BACKEND=jax``) or with ``tf_text=False``; only ``tf_tokenize`` / ``tf_encode``
(tf.data) always do.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Sequence
from itertools import chain
from pathlib import Path

import numpy as np

from bert_tf.errors import DataError
from bert_tf.text.rules import (
    SPECIAL_TOKENS,
    PieceIds,
    basic_tokenize,
    check_special_tokens,
    load_vocab,
)

__all__ = ["SPECIAL_TOKENS", "BertTokenizer", "basic_tokenize", "load_vocab"]


def _warn(message: str, *args) -> None:
    import logging  # here: `bert-tf create-data` imports this module and never warns

    logging.getLogger(__name__).warning(message, *args)


def keras_backend_is_tensorflow() -> bool:
    """Whether Keras runs (or will run) on TensorFlow, found without importing Keras: its own
    answer if it is loaded, else ``KERAS_BACKEND``, else ``keras.json``, else its default."""
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "config"):
        return keras.config.backend() == "tensorflow"
    name = os.environ.get("KERAS_BACKEND")
    if not name:
        home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
        try:
            import json

            with open(os.path.join(home, "keras.json"), encoding="utf-8") as f:
                name = json.load(f).get("backend")
        except (OSError, ValueError, AttributeError):
            name = None
    return (name or "tensorflow") == "tensorflow"


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
      tf_text: run ``tokenize_ids`` on tensorflow-text (True), in pure Python (False), or
        decide on first use (None): tensorflow-text when TensorFlow is the Keras backend and
        tensorflow-text is installed. The results are the same.

    ``tokenize(text)`` gives wordpiece strings, ``tokenize_ids(texts)`` ids for a batch,
    ``tok(texts, pair_texts, max_length)`` model inputs, ``tf_tokenize`` / ``tf_encode`` the
    same inside ``tf.data``.
    """

    def __init__(
        self, vocab_path: str | os.PathLike, lowercase: bool = True, tf_text: bool | None = None
    ):
        self.vocab_path = str(vocab_path)
        self.lowercase = bool(lowercase)
        self.vocab = load_vocab(vocab_path)
        check_special_tokens(self.vocab, vocab_path)
        self.inv_vocab = list(self.vocab)
        self.pad_id = self.vocab["[PAD]"]
        self.unk_id = self.vocab["[UNK]"]
        self.cls_id = self.vocab["[CLS]"]
        self.sep_id = self.vocab["[SEP]"]
        self.mask_id = self.vocab["[MASK]"]
        self.tf_text = tf_text
        self._python_path = PieceIds(self.vocab, self.lowercase, self.unk_id)
        self._tf_text_path = None  # built on first use; False: not used

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
        import json

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
            _warn(
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

    # ------------------------------------------------------------------ tokenizing

    def basic_tokenize(self, text: str) -> list[str]:
        """The words WordPiece cuts: cleaning, CJK splitting, (lowercasing), punctuation."""
        return basic_tokenize(_to_str(text), self.lowercase)

    def tokenize(self, text: str) -> list[str]:
        """Wordpieces of one text, no special tokens (pure Python, no TensorFlow)."""
        inv = self.inv_vocab
        return [inv[i] for i in self._python_path.ids([_to_str(text)])[0]]

    def tokenize_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Wordpiece ids for a batch of texts, no special tokens. Exact and fast."""
        texts = _as_texts(texts, "tokenize_ids")
        fast = self._batch_path() if texts else None
        return fast.tokenize_ids(texts) if fast else self._python_path.ids(texts)

    def tokenize_ids_flat(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """`tokenize_ids` as arrays: all texts' ids concatenated (int32) and ids per text."""
        texts = _as_texts(texts, "tokenize_ids_flat")
        fast = self._batch_path() if texts else None
        if not fast:
            return self._python_path.flat_ids(texts)
        ids = fast.tokenize_ids(texts)
        lengths = np.fromiter(map(len, ids), np.int64, len(ids))
        return np.fromiter(chain.from_iterable(ids), np.int32, int(lengths.sum())), lengths

    def _batch_path(self):
        """The tensorflow-text path, built on first use, or False for the Python path."""
        if self._tf_text_path is None:
            self._tf_text_path = False
            use = self.tf_text if self.tf_text is not None else keras_backend_is_tensorflow()
            if use:
                try:
                    from bert_tf.text.tf_text_path import TFTextPath

                    self._tf_text_path = TFTextPath(
                        self.inv_vocab,
                        self.unk_id,
                        self.lowercase,
                        self._python_path.ids,
                    )
                except ImportError as err:
                    if self.tf_text:
                        raise
                    _warn("tensorflow-text unavailable (%s): using the Python path", err)
        return self._tf_text_path

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
            values, lengths = self.tokenize_ids_flat(
                [s.decode("utf-8", "ignore") for s in x.numpy()]
            )
            return values, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

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


def _as_texts(texts, method: str) -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{method} expects a list of texts; use tokenize() for one")
    return [x if isinstance(x, str) else _to_str(x) for x in texts]


def _to_str(text) -> str:
    """The original `convert_to_unicode`: str as is, bytes decoded as UTF-8 ignoring errors."""
    if isinstance(text, str):
        return text
    if isinstance(text, bytes):
        return text.decode("utf-8", "ignore")
    raise TypeError(f"expected str or bytes, got {type(text).__name__}")
