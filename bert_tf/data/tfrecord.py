"""TFRecord files of `tf.train.Example`s, written and read with numpy only (no TensorFlow).

Importing TensorFlow costs seconds, more than creating the pretraining data itself, so the
data creator writes TFRecords by hand. Both formats are small:

- TFRecord framing, per record: ``uint64 length`` (little endian), ``uint32 masked_crc32c(length)``,
  ``data``, ``uint32 masked_crc32c(data)``.
- ``tf.train.Example`` is the protobuf ``Example{features=1: Features{feature=1: map<string,
  Feature>}}`` with ``Feature{bytes_list=1 | float_list=2 | int64_list=3}``; the lists are
  packed repeated fields (``Int64List{value=1}`` varints, ``FloatList{value=1}`` float32 LE).

Everything is vectorised across records: `encode_examples` builds thousands of Examples with a
few dozen numpy operations, and `crc32c` uses CRC linearity (one table lookup per byte, then
an XOR reduction per record) instead of a byte-serial loop. `tests/test_data_pipeline.py`
checks byte compatibility with `tf.data.TFRecordDataset` + `tf.io.parse_single_example` in
both directions.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator, Sequence

import numpy as np

from bert_tf.errors import DataError

_POLY = 0x82F63B78  # CRC-32C (Castagnoli), reflected
_MASK_DELTA = 0xA282EAD8


def _byte_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(_POLY), table >> 1).astype(np.uint32)
    return table


_TABLE = _byte_table()
# _POS[e, b]: CRC register (init 0) contribution of byte `b` followed by `e` more bytes.
_POS = _TABLE[None, :].copy()
# _ZERO[n]: register after n zero bytes starting from 0xFFFFFFFF (the standard initial value).
_ZERO = np.array([0xFFFFFFFF], dtype=np.uint32)


def _step_zero(state: np.ndarray) -> np.ndarray:
    return _TABLE[state & 0xFF] ^ (state >> 8)


def _grow_tables(max_len: int) -> None:
    global _POS, _ZERO
    if _POS.shape[0] < max_len:
        n = max(max_len, 2 * _POS.shape[0])
        rows = [_POS]
        last = _POS[-1]
        for _ in range(n - _POS.shape[0]):
            last = _step_zero(last)
            rows.append(last[None, :])
        _POS = np.concatenate(rows)
    if _ZERO.shape[0] <= max_len:
        n = max(max_len + 1, 2 * _ZERO.shape[0])
        zeros = list(_ZERO)
        state = np.uint32(zeros[-1])
        for _ in range(n - len(zeros)):
            state = _TABLE[state & 0xFF] ^ (state >> np.uint32(8))
            zeros.append(state)
        _ZERO = np.array(zeros, dtype=np.uint32)


def crc32c_ragged(flat: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """CRC-32C of each of the records laid end to end in `flat` (uint8) with `lengths`."""
    flat = np.asarray(flat, dtype=np.uint8)
    lengths = np.asarray(lengths, dtype=np.int64)
    n = len(lengths)
    if n == 0:
        return np.zeros(0, np.uint32)
    max_len = int(lengths.max())
    _grow_tables(max_len)
    starts = np.zeros(n, np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    result = np.zeros(n, np.uint32)
    nonempty = lengths > 0
    if flat.size:
        # distance of each byte from the end of its record
        ends = np.repeat(starts + lengths - 1, lengths)
        dist = ends - np.arange(flat.size, dtype=np.int64)
        contrib = _POS.ravel()[dist * 256 + flat]
        result[nonempty] = np.bitwise_xor.reduceat(contrib, starts[nonempty])
    return ~(result ^ _ZERO[lengths])


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


def write_atomic(path: str, data: bytes) -> None:
    """Write `data` to `path` so that the file appears complete or not at all."""
    tmp = os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


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


def read_examples(paths: str | Sequence[str], verify: bool = True) -> dict[str, np.ndarray]:
    """Every Example of fixed-length features in `paths`, stacked: {name: [n, k] array}."""
    if isinstance(paths, str):
        paths = [paths]
    rows: dict[str, list] = {}
    for path in paths:
        for i, record in enumerate(iter_records(path, verify=verify)):
            ex = decode_example(record)
            if rows and set(ex) != set(rows):
                raise DataError(f"{path}: record {i} has features {sorted(ex)}, expected {sorted(rows)}")
            for k, v in ex.items():
                rows.setdefault(k, []).append(v)
    try:
        return {k: np.stack(v) for k, v in rows.items()}
    except ValueError as err:
        raise DataError(f"{list(paths)}: features of varying length cannot be stacked ({err})") from None
