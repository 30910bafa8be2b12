"""TFRecord files of `tf.train.Example`s, written and read with numpy only (no TensorFlow).

Importing TensorFlow costs seconds, more than creating the pretraining data itself, so the
data creator writes TFRecords by hand. Both formats are small:

- TFRecord framing, per record: ``uint64 length`` (little endian), ``uint32 masked_crc32c(length)``,
  ``data``, ``uint32 masked_crc32c(data)``.
- ``tf.train.Example`` is the protobuf ``Example{features=1: Features{feature=1: map<string,
  Feature>}}`` with ``Feature{bytes_list=1 | float_list=2 | int64_list=3}``; the lists are
  packed repeated fields (``Int64List{value=1}`` varints, ``FloatList{value=1}`` float32 LE).

Everything is vectorised across records: `encode_examples` builds thousands of Examples with a
few dozen numpy operations; checksums come from `google-crc32c` (C), or without it from a numpy
CRC that advances all records together, four bytes per step. `tests/test_data_pipeline.py`
checks byte compatibility with `tf.data.TFRecordDataset` + `tf.io.parse_single_example` in
both directions.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence

import numpy as np

from bert_tf.errors import DataError

try:  # C implementation; its pure-Python fallback would be slower than our numpy one
    import google_crc32c as _google_crc32c

    if _google_crc32c.implementation != "c":
        _google_crc32c = None
except ImportError:
    _google_crc32c = None

_POLY = 0x82F63B78  # CRC-32C (Castagnoli), reflected
_MASK_DELTA = 0xA282EAD8


def _byte_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(_POLY), table >> 1).astype(np.uint32)
    return table


_TABLE = _byte_table()
# slicing-by-4 tables: _T4[k][b] is the register contribution of byte b followed by k zero bytes
_T4 = [_TABLE]
for _ in range(3):
    _T4.append(_TABLE[_T4[-1] & 0xFF] ^ (_T4[-1] >> 8))
# _ZERO[n]: register after n zero bytes starting from 0xFFFFFFFF (the standard initial value).
_ZERO = np.array([0xFFFFFFFF], dtype=np.uint32)


def _grow_zero(max_len: int) -> None:
    global _ZERO
    if _ZERO.shape[0] <= max_len:
        zeros = [int(x) for x in _ZERO]
        state = zeros[-1]
        table = _TABLE.tolist()
        for _ in range(max(max_len + 1, 2 * len(zeros)) - len(zeros)):
            state = table[state & 0xFF] ^ (state >> 8)
            zeros.append(state)
        _ZERO = np.array(zeros, dtype=np.uint32)


def crc32c_ragged(flat: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """CRC-32C of each of the records laid end to end in `flat` (uint8) with `lengths`.

    Uses Google's C implementation (`google-crc32c`, a pinned dependency) when it is
    installed, otherwise the vectorised numpy version below; a test checks they agree.
    """
    if _google_crc32c is None:
        return crc32c_ragged_numpy(flat, lengths)
    data = np.ascontiguousarray(flat, dtype=np.uint8).tobytes()  # it takes bytes only
    ends = np.cumsum(np.asarray(lengths, dtype=np.int64)).tolist()
    value = _google_crc32c.value
    out, start = [], 0
    for end in ends:
        out.append(value(data[start:end]))
        start = end
    return np.array(out, dtype=np.uint32)


def crc32c_ragged_numpy(flat: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """CRC-32C of each record, in numpy only (the fallback without `google-crc32c`).

    All records advance together, four bytes per step (slicing-by-4). Records are
    right-aligned with leading zero bytes, which leave a CRC register that starts at 0
    unchanged; the standard initial value 0xFFFFFFFF is accounted for afterwards by
    linearity (``_ZERO``).
    """
    flat = np.asarray(flat, dtype=np.uint8)
    lengths = np.asarray(lengths, dtype=np.int64)
    n = len(lengths)
    if n == 0:
        return np.zeros(0, np.uint32)
    width = (int(lengths.max()) + 3) // 4 * 4
    _grow_zero(width)
    starts = np.cumsum(lengths) - lengths
    # byte j of record r goes to column (width - len[r] + j) of row r of a [n, width] matrix
    matrix = np.zeros(n * width, np.uint8)
    shift = np.arange(n, dtype=np.int64) * width + width - lengths - starts
    matrix[np.repeat(shift, lengths) + np.arange(flat.size, dtype=np.int64)] = flat
    words = np.ascontiguousarray(matrix.view("<u4").reshape(n, width // 4).T)
    t0, t1, t2, t3 = _T4
    state = np.zeros(n, np.uint32)
    for w in words:
        state ^= w
        b = state.view(np.uint8).reshape(n, 4)  # little endian: b[:, 0] is the low byte
        state = t3.take(b[:, 0]) ^ t2.take(b[:, 1]) ^ t1.take(b[:, 2]) ^ t0.take(b[:, 3])
    return ~(state ^ _ZERO[lengths])


def crc32c(data: bytes) -> int:
    arr = np.frombuffer(data, np.uint8)
    return int(crc32c_ragged(arr, np.array([len(arr)]))[0])


def mask_crc(crc: np.ndarray) -> np.ndarray:
    crc = np.asarray(crc, np.uint32)
    return ((crc >> 15) | (crc << 17)) + np.uint32(_MASK_DELTA)


# ---------------------------------------------------------------- protobuf encoding, vectorised


def _varint_ragged(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Varint-encode a [n, k] array of non-negative ints: (flat bytes, bytes per row)."""
    values = np.asarray(values)
    if values.ndim == 1:
        values = values[:, None]
    top = int(values.max()) if values.size else 0
    if top < 0x80:  # every value is one byte
        return values.astype(np.uint8).reshape(-1), np.full(values.shape[0], values.shape[1], np.int64)
    if top >= 1 << 35:
        raise ValueError("values >= 2**35 are not supported by this encoder")
    width = (top.bit_length() + 6) // 7
    dtype = np.uint32 if top < 1 << 32 else np.uint64
    v = values.astype(dtype)
    nbytes = np.ones(values.shape, np.int8)
    for k in range(1, width):
        nbytes += v >= (1 << (7 * k))
    groups = np.empty(values.shape + (width,), np.uint8)
    for k in range(width):
        g = ((v >> (7 * k)) & 0x7F).astype(np.uint8)
        if k < width - 1:
            g |= (nbytes > k + 1).view(np.uint8) << 7
        groups[..., k] = g
    valid = np.arange(width, dtype=np.int8) < nbytes[..., None]
    return groups[valid], nbytes.sum(axis=1, dtype=np.int64)


def _varint_len(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, np.int64)
    n = np.ones(values.shape, np.int64)
    for k in (7, 14, 21, 28, 35, 42, 49, 56):
        n += values >= (1 << k)
    return n


def _const(data: bytes, n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.tile(np.frombuffer(data, np.uint8), n), np.full(n, len(data), np.int64)


def _concat_ragged(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Record-wise concatenation of ragged parts (each: flat bytes, per-record lengths)."""
    n = len(parts[0][1])
    lens = np.stack([p[1] for p in parts], axis=1)  # [n, parts]
    total = lens.sum(axis=1)
    rec_start = np.zeros(n, np.int64)
    np.cumsum(total[:-1], out=rec_start[1:])
    part_start = rec_start[:, None] + np.cumsum(lens, axis=1) - lens
    out = np.empty(int(total.sum()), np.uint8)
    for j, (flat, plens) in enumerate(parts):
        if flat.size == 0:
            continue
        width = int(plens[0])
        if (plens == width).all():  # same length in every record
            dest = (part_start[:, j, None] + np.arange(width)).reshape(-1)
        else:
            src_start = np.cumsum(plens) - plens
            dest = np.arange(flat.size, dtype=np.int64) + np.repeat(part_start[:, j] - src_start, plens)
        out[dest] = flat
    return out, total


def _feature_parts(name: str, values: np.ndarray) -> tuple[list, np.ndarray]:
    """The parts of one Features map entry {key: name, value: Feature} for every record."""
    values = np.asarray(values)
    n = values.shape[0]
    values = values.reshape(n, -1)
    if values.dtype.kind == "f":
        flat = np.ascontiguousarray(values, dtype="<f4").view(np.uint8).reshape(-1)
        payload = (flat, np.full(n, 4 * values.shape[1], np.int64))
        kind_tag = 0x12  # Feature.float_list = 2
    else:
        if values.size and values.min() < 0:
            raise ValueError(f"feature {name!r}: negative int64 values are not supported")
        payload = _varint_ragged(values)
        kind_tag = 0x1A  # Feature.int64_list = 3
    key = name.encode()
    list_len = 1 + _varint_len(payload[1]) + payload[1]  # XxxList{value=1 packed}
    feature_len = 1 + _varint_len(list_len) + list_len  # Feature{kind}
    entry_len = 2 + len(key) + 1 + _varint_len(feature_len) + feature_len  # MapEntry{key, value}
    header = _concat_ragged(
        [
            _const(b"\x0a", n),  # Features.feature = 1
            _varint_ragged(entry_len),
            _const(bytes([0x0A, len(key)]) + key + b"\x12", n),  # key = 1; value = 2
            _varint_ragged(feature_len),
            _const(bytes([kind_tag]), n),
            _varint_ragged(list_len),
            _const(b"\x0a", n),  # value = 1, packed
            _varint_ragged(payload[1]),
        ]
    )
    return [header, payload], 1 + _varint_len(entry_len) + entry_len


def encode_examples(features: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Serialize `tf.train.Example`s: one per row of the [n, k] arrays in `features`.

    Integer arrays become int64 lists, float arrays float lists, in the dict's order (as
    the original BERT writer's OrderedDict). Returns (flat bytes, bytes per record).
    """
    parts, body_len = [], 0
    for name, values in features.items():
        p, length = _feature_parts(name, values)
        parts.extend(p)
        body_len = body_len + length
    n = len(body_len)
    head = _concat_ragged([_const(b"\x0a", n), _varint_ragged(body_len)])  # Example.features = 1
    return _concat_ragged([head, *parts])


def frame_records(flat: np.ndarray, lengths: np.ndarray) -> bytes:
    """TFRecord framing of the records in (flat, lengths): the bytes of a .tfrecord file."""
    n = len(lengths)
    if n == 0:
        return b""
    len_bytes = np.asarray(lengths, "<u8").view(np.uint8)
    len_crc = mask_crc(crc32c_ragged(len_bytes, np.full(n, 8))).astype("<u4").view(np.uint8)
    data_crc = mask_crc(crc32c_ragged(flat, lengths)).astype("<u4").view(np.uint8)
    framed, _ = _concat_ragged(
        [
            (len_bytes, np.full(n, 8, np.int64)),
            (len_crc, np.full(n, 4, np.int64)),
            (flat, np.asarray(lengths, np.int64)),
            (data_crc, np.full(n, 4, np.int64)),
        ]
    )
    return framed.tobytes()


# ---------------------------------------------------------------- reading, without TensorFlow


def iter_records(path: str, verify: bool = True) -> Iterator[bytes]:
    """The raw records of a TFRecord file (uncompressed); checks framing and CRCs."""
    with open(path, "rb") as f:
        data = f.read()
    pos, index, records = 0, 0, []
    while pos < len(data):
        if pos + 12 > len(data):
            raise DataError(f"{path}: truncated TFRecord header at byte {pos} (record {index})")
        (length,) = struct.unpack_from("<Q", data, pos)
        end = pos + 12 + length + 4
        if end > len(data):
            raise DataError(f"{path}: truncated TFRecord at byte {pos} (record {index})")
        records.append((pos, length))
        pos, index = end, index + 1
    if verify and records:
        starts = np.array([p for p, _ in records], np.int64)
        lengths = np.array([n for _, n in records], np.int64)
        buf = np.frombuffer(data, np.uint8)
        head_idx = (starts[:, None] + np.arange(8)).ravel()
        head_crc = mask_crc(crc32c_ragged(buf[head_idx], np.full(len(starts), 8)))
        stored_head = np.array([struct.unpack_from("<I", data, p + 8)[0] for p in starts], np.uint32)
        body_idx = np.repeat(starts + 12, lengths) + (
            np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        )
        body_crc = mask_crc(crc32c_ragged(buf[body_idx], lengths))
        stored_body = np.array(
            [struct.unpack_from("<I", data, p + 12 + n)[0] for p, n in records], np.uint32
        )
        bad = np.nonzero((head_crc != stored_head) | (body_crc != stored_body))[0]
        if bad.size:
            raise DataError(f"{path}: corrupted TFRecord (CRC mismatch) in record {int(bad[0])}")
    for p, n in records:
        yield data[p + 12 : p + 12 + n]


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def _decode_varints(payload: bytes) -> np.ndarray:
    arr = np.frombuffer(payload, np.uint8)
    if arr.size == 0:
        return np.zeros(0, np.int64)
    ends = np.nonzero(arr < 0x80)[0]
    starts = np.concatenate([[0], ends[:-1] + 1])
    group = np.repeat(np.arange(len(ends)), ends - starts + 1)
    shift = (np.arange(arr.size) - np.repeat(starts, ends - starts + 1)) * 7
    vals = (arr.astype(np.uint64) & np.uint64(0x7F)) << shift.astype(np.uint64)
    out = np.zeros(len(ends), np.uint64)
    np.add.at(out, group, vals)
    return out.view(np.int64)


def _fields(buf: bytes) -> Iterator[tuple[int, int, object]]:
    """(field number, wire type, value) of a protobuf message."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 2:
            n, pos = _read_varint(buf, pos)
            value, pos = buf[pos : pos + n], pos + n
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        else:
            raise DataError(f"unsupported protobuf wire type {wire}")
        yield field, wire, value


def decode_example(record: bytes) -> dict[str, np.ndarray]:
    """A serialized `tf.train.Example` as {name: int64 / float32 / list-of-bytes array}."""
    out = {}
    for field, _, features in _fields(record):
        if field != 1:
            continue
        for efield, _, entry in _fields(features):
            if efield != 1:
                continue
            name, value = "", None
            for f, _, v in _fields(entry):
                if f == 1:
                    name = bytes(v).decode()
                elif f == 2:
                    value = v
            ints, floats, strings, kind = [], [], [], None
            for kind, _wire, lst in _fields(value or b""):
                for _, w, v in _fields(lst):
                    if kind == 3:
                        ints.append(_decode_varints(v) if w == 2 else np.array([v], np.uint64).view(np.int64))
                    elif kind == 2:
                        floats.append(np.frombuffer(v, "<f4"))
                    elif kind == 1:
                        strings.append(bytes(v))
            if kind == 3:
                out[name] = np.concatenate(ints) if ints else np.zeros(0, np.int64)
            elif kind == 2:
                out[name] = np.concatenate(floats).astype(np.float32) if floats else np.zeros(0, np.float32)
            else:
                out[name] = strings
    return out


def _entries(record: bytes) -> Iterator[tuple[str, int, int, bytes]]:
    """(name, kind, wire type, list payload) of each feature of a serialized Example."""
    for field, _, features in _fields(record):
        if field != 1:
            continue
        for efield, _, entry in _fields(features):
            if efield != 1:
                continue
            name, value = "", b""
            for f, _, v in _fields(entry):
                if f == 1:
                    name = bytes(v).decode()
                elif f == 2:
                    value = v
            for kind, _, lst in _fields(value):
                for _, wire, v in _fields(lst):
                    yield name, kind, wire, v


def decode_batch(records: Sequence[bytes], where: str = "records") -> dict[str, np.ndarray]:
    """Serialized Examples with fixed-length int64/float features -> {name: [n, k] array}.

    The per-record work is only walking the protobuf structure; the packed values of each
    feature are decoded for all records at once.
    """
    payloads: dict[str, list] = {}
    kinds: dict[str, int] = {}
    for i, record in enumerate(records):
        seen = {}
        for name, kind, wire, v in _entries(record):
            if kind == 3 and wire == 0:  # unpacked int64: re-encode as a one-value payload
                v = _varint_ragged(np.array([[v]], np.uint64))[0].tobytes()
            elif kind == 2 and wire == 5:
                pass
            elif kind not in (2, 3) or wire != 2:
                raise DataError(f"{where}: record {i}: feature {name!r} is not an int64 or float list")
            seen.setdefault(name, []).append(v)
            kinds[name] = kind
        if payloads and set(seen) != set(payloads):
            raise DataError(f"{where}: record {i} has features {sorted(seen)}, expected {sorted(payloads)}")
        for name, parts in seen.items():
            payloads.setdefault(name, []).append(b"".join(parts) if len(parts) > 1 else parts[0])
    out = {}
    n = len(records)
    for name, parts in payloads.items():
        data = b"".join(parts)
        if kinds[name] == 3:
            values = _decode_varints(data)
        else:
            values = np.frombuffer(data, "<f4").astype(np.float32)
        if n and values.size % n:
            raise DataError(f"{where}: feature {name!r} does not have the same length in every record")
        if kinds[name] == 3:
            # same number of values per record?
            counts = [len(_decode_varints(p)) for p in parts[:1]]
            if counts and counts[0] * n != values.size:
                raise DataError(f"{where}: feature {name!r} does not have the same length in every record")
        out[name] = values.reshape(n, -1) if n else values.reshape(0, 0)
    return out


def read_examples(paths: str | Sequence[str], verify: bool = True) -> dict[str, np.ndarray]:
    """Every Example of fixed-length features in `paths`, stacked: {name: [n, k] array}."""
    if isinstance(paths, str):
        paths = [paths]
    parts = [decode_batch(list(iter_records(p, verify=verify)), p) for p in paths]
    parts = [p for p in parts if p]
    if not parts:
        return {}
    names = set(parts[0])
    for p, path in zip(parts, paths, strict=False):
        if set(p) != names:
            raise DataError(f"{path}: features {sorted(p)}, expected {sorted(names)}")
    try:
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    except ValueError:
        raise DataError(f"{list(paths)}: features have different lengths in different files") from None
