"""Pretraining data for BERT (MLM + NSP): text files in, sharded TFRecord files out.

The recipe is google-research's ``create_pretraining_data.py``, step for step:

- input: one sentence per line, a blank line between documents;
- per document, a target length: ``max_seq_length - 3``, or with probability
  ``short_seq_prob`` a random length in ``[2, max_seq_length - 3]``;
- sentences are gathered into a chunk until the target is reached; a random number of the
  chunk's sentences form segment A; B is the rest of the chunk ("is next", label 0) or, 50%
  of the time (always when the chunk has one sentence), the text from a random sentence of
  another document ("random next", label 1), in which case the chunk's unused sentences are
  put back for the next instance;
- ``truncate_seq_pair``: the longer of A/B loses a token from the front or the back (50/50)
  until the pair fits;
- ``[CLS] A [SEP] B [SEP]``, segment ids 0 for ``[CLS] A [SEP]`` and 1 for ``B [SEP]``;
- masking (`bert_tf.data.masking`): 15% capped by ``max_predictions_per_seq``, 80/10/10,
  optional whole-word masking;
- ``dupe_factor`` passes over the documents with different target lengths, splits and masks;
- output feature names and dtypes of the original (``input_ids``, ``input_mask``,
  ``segment_ids``, ``masked_lm_positions``, ``masked_lm_ids``, ``masked_lm_weights``,
  ``next_sentence_labels``), padded with 0 to fixed lengths.

``nsp=False`` gives RoBERTa's FULL-SENTENCES packing instead: consecutive whole sentences,
crossing document boundaries (an extra ``[SEP]`` between documents), ``[CLS] ... [SEP]`` with
segment ids 0 and ``next_sentence_labels`` 0; a sentence longer than a sequence is split.

Where this differs from the original, on purpose:

- **Bounded memory, streaming.** The original reads the whole corpus, keeps every instance in
  memory, shuffles them all and then writes. Here the input is cut into chunks of about
  ``chunk_bytes`` at document boundaries (a document longer than ~4 chunks is cut at a line);
  each chunk is processed on its own (documents shuffled, instances created, shuffled, masked
  and serialized) and written out, so memory is bounded by a few chunks per worker.
- **NSP random documents come from the same chunk** (a window of about ``chunk_bytes`` of
  text: ~40 of the sample's long articles, a few hundred average ones) instead of the whole corpus. Within a window the
  draw is the original's: up to 10 tries for a document other than the current one.
- **Shuffling is per chunk**, not global; each chunk's shuffled instances are spread over all
  shards, and the input pipeline interleaves shards and shuffles again.
- **Random numbers** come from numpy/Python generators seeded with ``(seed, chunk index)``:
  the same seed gives the same files for any worker count, but not the original's bytes.
  Truncation draws the number of front removals as a binomial instead of one coin per token,
  which is the same distribution.
- Whole-word groups never span ``[SEP]`` (see `bert_tf.data.masking`).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from bert_tf.data import masking, tfrecord
from bert_tf.errors import DataError
from bert_tf.io import write_atomic
from bert_tf.text.tokenizer import BertTokenizer

# original feature name -> name used by bert_tf models and the input pipeline
FEATURE_NAMES = {
    "input_ids": "token_ids",
    "input_mask": "padding_mask",
    "segment_ids": "segment_ids",
    "masked_lm_positions": "masked_positions",
    "masked_lm_ids": "masked_ids",
    "masked_lm_weights": "masked_weights",
    "next_sentence_labels": "nsp_labels",
}

MANIFEST = "manifest.json"
FORMAT = "bert_tf.pretraining_data/1"


@dataclass(frozen=True)
class Settings:
    max_seq_length: int = 128
    max_predictions_per_seq: int = 20
    masked_lm_prob: float = 0.15
    dupe_factor: int = 10
    short_seq_prob: float = 0.1
    seed: int = 12345
    whole_word_mask: bool = False
    nsp: bool = True
    lowercase: bool = True
    num_shards: int = 8
    chunk_bytes: int = 1 << 20
    errors: str = "strict"  # "strict" or "replace" for bytes that are not UTF-8
    max_line_bytes: int = 1 << 20

    def validate(self) -> None:
        if self.max_seq_length < 5:
            raise DataError(f"max_seq_length must be at least 5 ([CLS] A [SEP] B [SEP]), got {self.max_seq_length}")
        if not 1 <= self.max_predictions_per_seq <= self.max_seq_length:
            raise DataError(f"max_predictions_per_seq must be in [1, max_seq_length], got {self.max_predictions_per_seq}")
        if not 0.0 < self.masked_lm_prob < 1.0:
            raise DataError(f"masked_lm_prob must be in (0, 1), got {self.masked_lm_prob}")
        if not 0.0 <= self.short_seq_prob <= 1.0:
            raise DataError(f"short_seq_prob must be in [0, 1], got {self.short_seq_prob}")
        if self.dupe_factor < 1:
            raise DataError(f"dupe_factor must be at least 1, got {self.dupe_factor}")
        if self.num_shards < 1:
            raise DataError(f"num_shards must be at least 1, got {self.num_shards}")
        if self.chunk_bytes < 1024:
            raise DataError(f"chunk size must be at least 1 KiB, got {self.chunk_bytes} bytes")
        if self.errors not in ("strict", "replace"):
            raise DataError(f"errors must be 'strict' or 'replace', got {self.errors!r}")


# ---------------------------------------------------------------------------- vocabulary


@dataclass
class VocabInfo:
    path: str
    size: int
    sha256: str
    ids: dict[str, int]
    continuation: np.ndarray  # bool [size]: token starts with "##"


def vocab_info(tokenizer: BertTokenizer) -> VocabInfo:
    """What the data creator needs to know about a tokenizer's vocabulary (and its file's hash)."""
    with open(tokenizer.vocab_path, "rb") as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    continuation = np.array([t.startswith("##") for t in tokenizer.inv_vocab], bool)
    return VocabInfo(tokenizer.vocab_path, tokenizer.vocab_size, sha256, tokenizer.vocab, continuation)


def load_vocab(path: str) -> VocabInfo:
    """A BERT vocab.txt read as the original reads it, checked for the special tokens."""
    return vocab_info(BertTokenizer(path, tf_text=False))


# ---------------------------------------------------------------------------- reading text


@dataclass
class Chunk:
    index: int
    path: str
    first_line: int  # 1-based line number of the chunk's first line in `path`
    data: bytes


def check_inputs(paths: Sequence[str]) -> list[str]:
    if not paths:
        raise DataError("no input files given")
    out = []
    for p in paths:
        if not os.path.exists(p):
            raise DataError(f"{p}: no such file")
        if os.path.isdir(p):
            raise DataError(f"{p}: is a directory, expected a text file")
        if not os.access(p, os.R_OK):
            raise DataError(f"{p}: permission denied")
        out.append(p)
    return out


def _long_line_error(path: str, line: int, nbytes: int, limit: int) -> DataError:
    return DataError(
        f"{path}:{line}: line is {nbytes:,} bytes long (limit {limit:,}, --max-line-bytes); "
        "the input must have one sentence per line"
    )


def _check_line_lengths(path: str, first_line: int, data: bytes, limit: int) -> None:
    if len(data) <= limit:
        return
    nl = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    bounds = np.concatenate([[-1], nl, [len(data)]])
    lengths = np.diff(bounds) - 1
    worst = int(np.argmax(lengths))
    if lengths[worst] > limit:
        raise _long_line_error(path, first_line + worst, int(lengths[worst]), limit)


def iter_chunks(paths: Sequence[str], chunk_bytes: int, max_line_bytes: int) -> Iterator[Chunk]:
    """Cut the input files into chunks of about `chunk_bytes`, ending at document boundaries."""
    index = 0
    hard_limit = max(4 * chunk_bytes, max_line_bytes + 1)
    for path in paths:
        line = 1
        with open(path, "rb") as f:
            carry = b""
            while True:
                block = f.read(chunk_bytes)
                data = carry + block
                if not block:
                    if data.strip():
                        _check_line_lengths(path, line, data, max_line_bytes)
                        yield Chunk(index, path, line, data)
                        index += 1
                    break
                cut = max(data.rfind(b"\n\n"), data.rfind(b"\n\r\n"))
                if cut < 0:
                    if len(data) < hard_limit:
                        carry = data
                        continue
                    cut = data.rfind(b"\n")  # a huge document: cut it at a line
                    if cut < 0 or len(data) - cut > max_line_bytes:
                        raise _long_line_error(path, line + data.count(b"\n"), len(data) - cut - 1, max_line_bytes)
                piece, carry = data[: cut + 1], data[cut + 1 :]
                _check_line_lengths(path, line, piece, max_line_bytes)
                yield Chunk(index, path, line, piece)
                index += 1
                line += piece.count(b"\n")


def decode_chunk(chunk: Chunk, errors: str) -> list[str]:
    """The chunk's lines as str; a byte that is not UTF-8 raises DataError with file:line."""
    try:
        text = chunk.data.decode("utf-8", errors=errors)
    except UnicodeDecodeError as err:
        data = chunk.data
        line = chunk.first_line + data.count(b"\n", 0, err.start)
        col = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise DataError(
            f"{chunk.path}:{line}: invalid UTF-8 byte 0x{data[err.start]:02x} at column {col} "
            "(fix the file or pass --errors replace)"
        ) from None
    return text.split("\n")


# ---------------------------------------------------------------------------- instances


@dataclass
class ChunkStats:
    lines: int = 0
    bytes: int = 0
    documents: int = 0
    sentences: int = 0
    single_sentence_documents: int = 0
    instances: int = 0
    random_next: int = 0
    random_next_same_document: int = 0
    short_target: int = 0
    tokens: int = 0  # real tokens incl. [CLS]/[SEP]
    masked: int = 0
    masked_as_mask: int = 0
    masked_as_random: int = 0
    truncated: int = 0

    def add(self, other: ChunkStats) -> None:
        for k, v in asdict(other).items():
            setattr(self, k, getattr(self, k) + v)


@dataclass
class Corpus:
    """A chunk's tokenized documents: `tokens` flat; sentence s is tokens[start[s]:start[s]+length[s]]."""

    tokens: np.ndarray
    sent_start: np.ndarray
    sent_len: np.ndarray
    docs: list[tuple[int, int]]  # (first sentence, number of sentences)


def tokenize_documents(lines: list[str], tokenizer: BertTokenizer) -> Corpus:
    """Split lines into documents at blank lines; drop sentences with no tokens, empty documents."""
    texts, doc_breaks = [], []
    for raw in lines:
        s = raw.strip()
        if s:
            texts.append(s)
        else:
            doc_breaks.append(len(texts))
    flat, lengths = tokenizer.tokenize_ids_flat(texts)
    starts = np.cumsum(lengths) - lengths
    keep = lengths > 0
    kept_before = np.concatenate([[0], np.cumsum(keep)])  # kept sentences before index i
    bounds = sorted({0, *doc_breaks, len(texts)})
    docs = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        first, last = int(kept_before[lo]), int(kept_before[hi])
        if last > first:
            docs.append((first, last - first))
    return Corpus(flat, starts[keep], lengths[keep], docs)


def _truncated_lengths(la: int, lb: int, max_tokens: int) -> tuple[int, int]:
    """Final (len A, len B) of the original truncate_seq_pair: the longer side loses a token."""
    excess = la + lb - max_tokens
    if excess <= 0:
        return la, lb
    total = max_tokens
    if la > lb:
        if la - excess >= lb:
            return la - excess, lb
    elif lb - excess >= la - 1:
        return la, lb - excess
    return (total + 1) // 2, total // 2


def _front(rng: random.Random, n: int) -> int:
    """How many of n one-token removals hit the front (each a fair coin): Binomial(n, 1/2)."""
    return rng.getrandbits(n).bit_count() if n > 0 else 0


def nsp_instances(corpus: Corpus, settings: Settings, rng: random.Random, stats: ChunkStats) -> np.ndarray:
    """Instance spans [n, 6]: a_start, a_len, b_start, b_len, is_random_next, short_target."""
    max_num_tokens = settings.max_seq_length - 3
    starts, lens, docs = corpus.sent_start, corpus.sent_len, corpus.docs
    starts_l = starts.tolist()
    lens_l = lens.tolist()
    out = []
    n_docs = len(docs)
    for _ in range(settings.dupe_factor):
        for d, (first, count) in enumerate(docs):
            target = max_num_tokens
            short = 0
            if rng.random() < settings.short_seq_prob:
                target = rng.randint(2, max_num_tokens)
                short = 1
            chunk_first, chunk_n, chunk_tokens = first, 0, 0
            i = 0
            while i < count:
                s = first + i
                if chunk_n == 0:
                    chunk_first = s
                chunk_n += 1
                chunk_tokens += lens_l[s]
                if i == count - 1 or chunk_tokens >= target:
                    a_end = rng.randint(1, chunk_n - 1) if chunk_n >= 2 else 1
                    a_start = starts_l[chunk_first]
                    a_len = starts_l[chunk_first + a_end - 1] + lens_l[chunk_first + a_end - 1] - a_start
                    if chunk_n == 1 or rng.random() < 0.5:
                        is_random = 1
                        target_b = target - a_len
                        for _ in range(10):
                            r = rng.randint(0, n_docs - 1)
                            if r != d:
                                break
                        if r == d:
                            stats.random_next_same_document += 1
                        r_first, r_count = docs[r]
                        j = r_first + rng.randint(0, r_count - 1)
                        b_start, b_len = starts_l[j], 0
                        while j < r_first + r_count:
                            b_len += lens_l[j]
                            j += 1
                            if b_len >= target_b:
                                break
                        i -= chunk_n - a_end  # put the unused sentences back
                    else:
                        is_random = 0
                        last = chunk_first + chunk_n - 1
                        b_start = starts_l[chunk_first + a_end]
                        b_len = starts_l[last] + lens_l[last] - b_start
                    fa, fb = _truncated_lengths(a_len, b_len, max_num_tokens)
                    if fa != a_len or fb != b_len:
                        stats.truncated += 1
                        a_start += _front(rng, a_len - fa)
                        b_start += _front(rng, b_len - fb)
                    out.append((a_start, fa, b_start, fb, is_random, short))
                    chunk_n = chunk_tokens = 0
                i += 1
    return np.array(out, np.int64).reshape(-1, 6)


def packed_instances(corpus: Corpus, settings: Settings, rng: random.Random, sep_id: int) -> tuple[np.ndarray, np.ndarray]:
    """RoBERTa FULL-SENTENCES: (stream of tokens with [SEP] between documents, spans [n, 6])."""
    max_num_tokens = settings.max_seq_length - 2
    pieces, units = [], []  # units: (start in stream, length, is document separator)
    pos = 0
    for first, count in corpus.docs:
        if pieces:
            pieces.append(np.array([sep_id], np.int32))
            units.append((pos, 1, True))
            pos += 1
        lo = int(corpus.sent_start[first])
        for s in range(first, first + count):
            start, length = int(corpus.sent_start[s]) - lo + pos, int(corpus.sent_len[s])
            # a sentence longer than a sequence is split into sequence-sized pieces
            for k in range(0, length, max_num_tokens):
                units.append((start + k, min(max_num_tokens, length - k), False))
        hi = int(corpus.sent_start[first + count - 1] + corpus.sent_len[first + count - 1])
        pieces.append(corpus.tokens[lo:hi])
        pos += hi - lo
    stream = np.concatenate(pieces) if pieces else np.zeros(0, np.int32)
    out = []
    n = len(units)
    for _ in range(settings.dupe_factor):
        i = 0
        while i < n:
            target, short = max_num_tokens, 0
            if rng.random() < settings.short_seq_prob:
                target, short = rng.randint(2, max_num_tokens), 1
            if units[i][2]:
                i += 1  # never start with a document separator
                continue
            start, length, _ = units[i]
            i += 1
            while i < n and length + units[i][1] <= target:
                length += units[i][1]
                i += 1
            if units[i - 1][2]:
                length -= 1  # never end with a document separator
            out.append((start, length, 0, 0, 0, short))
    return stream, np.array(out, np.int64).reshape(-1, 6)


def assemble(tokens: np.ndarray, spans: np.ndarray, max_seq_length: int, cls_id: int, sep_id: int, pair: bool):
    """[CLS] A [SEP] (B [SEP]) from spans: (input_ids [n, L] int32, segment_ids, lengths)."""
    n, L = len(spans), max_seq_length
    a0, la, b0, lb = (spans[:, k, None] for k in range(4))
    j = np.arange(L)[None, :]
    in_a = (j >= 1) & (j <= la)
    src = np.where(in_a, a0 + j - 1, 0)
    ids = np.zeros((n, L), np.int32)
    ids[:, 0] = cls_id
    if len(tokens):
        ids = np.where(in_a, tokens[np.clip(src, 0, len(tokens) - 1)], ids)
    ids = np.where(j == la + 1, sep_id, ids)
    segment = np.zeros((n, L), np.int32)
    lengths = la[:, 0] + 2
    if pair:
        in_b = (j >= la + 2) & (j <= la + lb + 1)
        src = np.where(in_b, b0 + j - la - 2, 0)
        ids = np.where(in_b, tokens[np.clip(src, 0, len(tokens) - 1)], ids)
        ids = np.where(j == la + lb + 2, sep_id, ids)
        segment = ((j >= la + 2) & (j <= la + lb + 2)).astype(np.int32)
        lengths = lengths + lb[:, 0] + 1
    return ids, segment, lengths


@dataclass
class ChunkResult:
    index: int
    records: bytes  # TFRecord-framed serialized Examples
    record_sizes: np.ndarray
    stats: ChunkStats


@dataclass
class Context:
    """What every worker needs; set up once per process (inherited on fork)."""

    settings: Settings
    vocab: VocabInfo
    tokenizer: BertTokenizer


_CONTEXT: Context | None = None


def _init_worker(ctx: Context) -> None:
    global _CONTEXT
    _CONTEXT = ctx


def process_chunk(chunk: Chunk, ctx: Context | None = None) -> ChunkResult:
    """Text chunk -> shuffled, masked, serialized instances (all of the per-chunk work)."""
    ctx = ctx or _CONTEXT
    s, vocab = ctx.settings, ctx.vocab
    stats = ChunkStats(bytes=len(chunk.data))
    lines = decode_chunk(chunk, s.errors)
    if lines and lines[-1] == "":
        lines.pop()
    stats.lines = len(lines)
    corpus = tokenize_documents(lines, ctx.tokenizer)
    stats.documents = len(corpus.docs)
    stats.sentences = len(corpus.sent_len)
    stats.single_sentence_documents = sum(1 for _, c in corpus.docs if c == 1)
    seed_material = [s.seed & 0xFFFFFFFF, s.seed >> 32, chunk.index]
    py_rng = random.Random(f"bert_tf-{s.seed}-{chunk.index}")
    np_rng = np.random.default_rng(seed_material)
    cls_id, sep_id, mask_id = vocab.ids["[CLS]"], vocab.ids["[SEP]"], vocab.ids["[MASK]"]
    # the original shuffles documents once, before the dupe_factor passes
    order = list(range(len(corpus.docs)))
    py_rng.shuffle(order)
    corpus.docs = [corpus.docs[k] for k in order]
    if s.nsp:
        tokens = corpus.tokens
        spans = nsp_instances(corpus, s, py_rng, stats) if corpus.docs else np.zeros((0, 6), np.int64)
    else:
        tokens, spans = packed_instances(corpus, s, py_rng, sep_id)
    spans = spans[np_rng.permutation(len(spans))]
    ids, segment, lengths = assemble(tokens, spans, s.max_seq_length, cls_id, sep_id, s.nsp)
    n, L = ids.shape
    j = np.arange(L)[None, :]
    # as the original: every [CLS] and [SEP] (incl. document separators when packing)
    special = (ids == cls_id) | (ids == sep_id)
    word_starts = ~vocab.continuation[ids] if s.whole_word_mask else None
    m = masking.mask_batch(
        ids, lengths, special, s.masked_lm_prob, s.max_predictions_per_seq,
        vocab.size, mask_id, np_rng, word_starts,
    )
    stats.instances = n
    stats.random_next = int(spans[:, 4].sum())
    stats.short_target = int(spans[:, 5].sum())
    stats.tokens = int(lengths.sum())
    stats.masked = int(m.weights.sum())
    stats.masked_as_mask = int((m.input_ids == mask_id).sum() - (ids == mask_id).sum())
    stats.masked_as_random = int(((m.input_ids != ids) & (m.input_ids != mask_id)).sum())
    if n == 0:
        return ChunkResult(chunk.index, b"", np.zeros(0, np.int64), stats)
    input_mask = (j < lengths[:, None]).astype(np.int32)
    features = {
        "input_ids": m.input_ids,
        "input_mask": input_mask,
        "segment_ids": segment,
        "masked_lm_positions": m.positions,
        "masked_lm_ids": m.ids,
        "masked_lm_weights": m.weights,
        "next_sentence_labels": spans[:, 4:5],
    }
    records, sizes = tfrecord.encode_records(features)
    return ChunkResult(chunk.index, records, sizes, stats)


# ---------------------------------------------------------------------------- writing a dataset


def shard_name(k: int, num_shards: int) -> str:
    return f"pretrain-{k:05d}-of-{num_shards:05d}.tfrecord"


def file_signature(path: str) -> dict:
    st = os.stat(path)
    return {"path": os.path.abspath(path), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def settings_record(settings: Settings, inputs: Sequence[str], vocab: VocabInfo) -> dict:
    """What identifies an output: all settings, the inputs (path/size/mtime), the vocab hash."""
    return {
        **asdict(settings),
        "inputs": [file_signature(p) for p in inputs],
        "vocab": {"path": os.path.abspath(vocab.path), "size": vocab.size, "sha256": vocab.sha256},
    }


def read_manifest(output_dir: str) -> dict | None:
    path = os.path.join(output_dir, MANIFEST)
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    if manifest.get("format") != FORMAT or not manifest.get("complete"):
        return None
    for shard in manifest.get("shards", []):
        p = os.path.join(output_dir, shard["file"])
        if not os.path.isfile(p) or os.path.getsize(p) != shard["bytes"]:
            return None
    return manifest


def _our_files(output_dir: str) -> list[str]:
    if not os.path.isdir(output_dir):
        return []
    return [
        os.path.join(output_dir, f)
        for f in os.listdir(output_dir)
        if (f.startswith("pretrain-") and f.endswith(".tfrecord"))
        or (f.startswith(".pretrain-") and ".tfrecord.tmp" in f)
        or f == MANIFEST
    ]


def _sync_and_close(files: list) -> None:
    """Flush, fsync and close files, the fsyncs in parallel threads: ~5 ms for 8 shards where
    one after another took ~30 ms."""
    import threading

    errors: list[Exception] = []

    def finish(f) -> None:
        try:
            f.flush()
            os.fsync(f.fileno())
            f.close()
        except Exception as err:  # re-raised in the calling thread
            errors.append(err)

    threads = [threading.Thread(target=finish, args=(f,)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, desc="create-data", file=None, leave=False)


def create_pretraining_data(
    inputs: Sequence[str],
    vocab_path: str,
    output_dir: str,
    settings: Settings,
    workers: int = 1,
    overwrite: bool = False,
    progress: bool = False,
    log=None,
) -> dict:
    """Create the dataset in `output_dir` and return its manifest (see module docstring).

    If `output_dir` already holds a complete dataset made with the same settings, inputs and
    vocab, nothing is done and its manifest is returned with ``"reused": True``. Shards are
    written to temporary names and renamed when complete; the manifest is written last, so a
    dataset without a manifest is incomplete. On any error, this run's files are removed.
    """
    log = log or (lambda msg: None)
    settings.validate()
    inputs = check_inputs(list(inputs))
    # the pure Python path: importing TensorFlow would take longer than the whole job
    tokenizer = BertTokenizer(vocab_path, settings.lowercase, tf_text=False)
    vocab = vocab_info(tokenizer)
    record = settings_record(settings, inputs, vocab)

    existing = read_manifest(output_dir)
    if existing is not None and not overwrite:
        if existing.get("settings") == record:
            existing["reused"] = True
            return existing
        raise DataError(
            f"{output_dir}: already holds pretraining data made with other settings or inputs "
            "(pass --overwrite to replace it, or choose another --output)"
        )
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise DataError(f"{output_dir}: exists and is not a directory")
    os.makedirs(output_dir, exist_ok=True)
    stale = _our_files(output_dir)
    for f in stale:  # an older or interrupted run's files
        os.remove(f)
    if stale and existing is None:
        log(f"removed {len(stale)} files of an incomplete earlier run in {output_dir}")

    t0 = time.perf_counter()
    ctx = Context(settings, vocab, tokenizer)
    K = settings.num_shards
    finals = [os.path.join(output_dir, shard_name(k, K)) for k in range(K)]
    temps = [os.path.join(output_dir, f".{shard_name(k, K)}.tmp-{os.getpid()}") for k in range(K)]
    handles = []
    shard_counts = [0] * K
    shard_bytes = [0] * K
    totals = ChunkStats()
    renamed: list[str] = []
    pool = None
    bar = _progress(sum(os.path.getsize(p) for p in inputs), progress)
    try:
        handles = [open(t, "wb") for t in temps]

        def write(result: ChunkResult) -> None:
            totals.add(result.stats)
            if bar is not None:
                bar.update(result.stats.bytes)
            n = len(result.record_sizes)
            if n == 0:
                return
            ends = np.concatenate([[0], np.cumsum(result.record_sizes)])
            # contiguous groups of the (shuffled) records, rotating which shard gets extra ones
            cuts = [(n * g) // K for g in range(K + 1)]
            for g in range(K):
                lo, hi = cuts[g], cuts[g + 1]
                if hi > lo:
                    k = (g + result.index) % K
                    handles[k].write(result.records[int(ends[lo]) : int(ends[hi])])
                    shard_counts[k] += hi - lo
                    shard_bytes[k] += int(ends[hi] - ends[lo])

        chunks = iter_chunks(inputs, settings.chunk_bytes, settings.max_line_bytes)
        if workers <= 1:
            for chunk in chunks:
                write(process_chunk(chunk, ctx))
        else:
            import multiprocessing as mp

            pool = mp.get_context("fork").Pool(workers, initializer=_init_worker, initargs=(ctx,))
            pending: deque = deque()
            for chunk in chunks:  # at most 2 chunks per worker in flight: bounded memory
                pending.append(pool.apply_async(process_chunk, (chunk,)))
                while len(pending) >= 2 * workers:
                    write(pending.popleft().get())
            while pending:
                write(pending.popleft().get())
            pool.close()
            pool.join()
            pool = None

        if totals.instances == 0:
            raise DataError(f"{', '.join(inputs)}: empty corpus (no document has any tokens)")
        if settings.nsp and totals.documents == totals.single_sentence_documents:
            raise DataError(
                f"{', '.join(inputs)}: every document has a single sentence, so next sentence "
                "prediction has no true pairs; put blank lines between documents, not sentences, "
                "or pass --no-nsp"
            )
        _sync_and_close(handles)
        for t, f in zip(temps, finals, strict=True):
            os.replace(t, f)
            renamed.append(f)
        elapsed = time.perf_counter() - t0
        manifest = {
            "format": FORMAT,
            "complete": True,
            "settings": record,
            "shards": [
                {"file": os.path.basename(f), "instances": c, "bytes": b}
                for f, c, b in zip(finals, shard_counts, shard_bytes, strict=True)
            ],
            "instances": totals.instances,
            "stats": asdict(totals),
            "features": {
                "input_ids": ["int64", [settings.max_seq_length]],
                "input_mask": ["int64", [settings.max_seq_length]],
                "segment_ids": ["int64", [settings.max_seq_length]],
                "masked_lm_positions": ["int64", [settings.max_predictions_per_seq]],
                "masked_lm_ids": ["int64", [settings.max_predictions_per_seq]],
                "masked_lm_weights": ["float32", [settings.max_predictions_per_seq]],
                "next_sentence_labels": ["int64", [1]],
            },
            "feature_names": FEATURE_NAMES,
            "workers": workers,
            "seconds": round(elapsed, 3),
        }
        write_atomic(
            os.path.join(output_dir, MANIFEST),
            (json.dumps(manifest, indent=1) + "\n").encode("utf-8"),
        )
        manifest["reused"] = False
        return manifest
    except BaseException:
        if pool is not None:
            pool.terminate()
            pool.join()
        for h in handles:
            h.close()
        for p in [*temps, *renamed]:
            if os.path.exists(p):
                os.remove(p)
        raise
    finally:
        if bar is not None:
            bar.close()
