"""TFRecord files of `tf.train.Example`s, written and read with numpy only (no TensorFlow).

Importing TensorFlow costs seconds, more than creating the pretraining data itself, so the
data creator writes TFRecords by hand. Both formats are small:

- TFRecord framing, per record: ``uint64 length`` (little endian), ``uint32 masked_crc32c(length)``,
  ``data``, ``uint32 masked_crc32c(data)``.
- ``tf.train.Example`` is the protobuf ``Example{features=1: Features{feature=1: map<string,
  Feature>}}`` with ``Feature{bytes_list=1 | float_list=2 | int64_list=3}``; the lists are
  packed repeated fields (``Int64List{value=1}`` varints, ``FloatList{value=1}`` float32 LE).

Everything is vectorised across records: `encode_examples` builds thousands of Examples with a
few dozen numpy operations on padded [records, bytes] arrays; checksums come from `google-crc32c` (C), or without it from a numpy
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


def crc32c_ragged(flat: np.ndarray, lengths: np.ndarray, starts: np.ndarray | None = None) -> np.ndarray:
    """CRC-32C of records in `flat` (uint8): record i is `lengths[i]` bytes from `starts[i]`
    (by default the records lie end to end).

    Uses Google's C implementation (`google-crc32c`, a pinned dependency) when it is
    installed, otherwise the vectorised numpy version below; a test checks they agree.
    """
    flat = np.ascontiguousarray(flat, dtype=np.uint8)
    lengths = np.asarray(lengths, dtype=np.int64)
    if starts is None:
        starts = np.cumsum(lengths) - lengths
    if _google_crc32c is None:
        ends = np.cumsum(lengths)
        if len(lengths) and not (ends[-1] == flat.size and (starts == ends - lengths).all()):
            flat = flat[np.repeat(starts - (ends - lengths), lengths) + np.arange(int(ends[-1]))]
        return crc32c_ragged_numpy(flat, lengths)
    data = flat.tobytes()  # it takes bytes only (no memoryview)
    value = _google_crc32c.value
    return np.array(
        [value(data[s : s + n]) for s, n in zip(starts.tolist(), lengths.tolist(), strict=True)],
        dtype=np.uint32,
    )


def crc32c_ragged_numpy(flat: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """CRC-32C of each of the records laid end to end in `flat`, in numpy only (the fallback
    without `google-crc32c`, and the faster way for many tiny records).

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
    matrix = np.zeros((n, width), np.uint8)
    matrix[np.arange(width) >= (width - lengths)[:, None]] = flat  # right-aligned rows
    words = np.ascontiguousarray(matrix.view("<u4").T)
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


# A part of every record (a field, a header, a whole record) is held padded: ``(data, valid)``,
# ``data`` a [records, width] uint8 array whose row i holds record i's bytes where the bool
# array ``valid`` is True (left-aligned within each value), ``valid`` None when every byte is.
# Record-wise concatenation is then `np.concatenate` along axis 1, and the bytes of all records
# in order are one boolean-mask gather, ``data[valid]``.
Part = tuple[np.ndarray, "np.ndarray | None"]


def _varint(values: np.ndarray) -> Part:
    """Varint encoding of each row of a [n, k] (or [n]) array of non-negative ints."""
    values = np.asarray(values)
    if values.ndim == 1:
        values = values[:, None]
    n = values.shape[0]
    top = int(values.max()) if values.size else 0
    if top < 0x80:  # every value is one byte
        return values.astype(np.uint8).reshape(n, -1), None
    if top >= 1 << 35:
        raise ValueError("values >= 2**35 are not supported by this encoder")
    # each value's bytes are packed into one little-endian word (4 or 8 bytes, the rest invalid)
    word = np.dtype("<u4") if top < 1 << 28 else np.dtype("<u8")
    v = values.astype(word)
    packed = v & 0x7F
    nbytes = np.ones(values.shape, np.uint8)
    for k in range(1, (top.bit_length() + 6) // 7):
        more = v >= (1 << (7 * k))  # needs byte k: byte k-1 gets its continuation bit
        nbytes += more
        packed |= (more.astype(word) << (8 * k - 1)) | (((v >> (7 * k)) & 0x7F) << (8 * k))
    valid = np.arange(word.itemsize, dtype=np.uint8) < nbytes[..., None]
    return packed.view(np.uint8).reshape(n, -1), valid.reshape(n, -1)


def _varint_len(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, np.int64)
    n = np.ones(values.shape, np.int64)
    for k in (7, 14, 21, 28, 35, 42, 49, 56):
        n += values >= (1 << k)
    return n


def _const(data: bytes, n: int) -> Part:
    return np.broadcast_to(np.frombuffer(data, np.uint8), (n, len(data))), None


def _ragged(flat: np.ndarray, lengths: np.ndarray) -> Part:
    """Records laid end to end in `flat`, `lengths` bytes each, as a part."""
    lengths = np.asarray(lengths, np.int64)
    valid = np.arange(int(lengths.max(initial=0))) < lengths[:, None]
    data = np.zeros(valid.shape, np.uint8)
    data[valid] = flat
    return data, valid


def _concat(parts: Sequence[Part]) -> Part:
    """Record-wise concatenation."""
    data = np.concatenate([d for d, _ in parts], axis=1)
    if all(v is None for _, v in parts):
        return data, None
    valid = np.concatenate([np.ones(d.shape, bool) if v is None else v for d, v in parts], axis=1)
    return data, valid


def _lengths(part: Part) -> np.ndarray:
    data, valid = part
    if valid is None:
        return np.full(data.shape[0], data.shape[1], np.int64)
    return valid.sum(axis=1, dtype=np.int64)


def _flat(part: Part) -> np.ndarray:
    data, valid = part
    return data.reshape(-1) if valid is None else data[valid]


def _feature(name: str, values: np.ndarray) -> list[Part]:
    """The parts of one Features map entry {key: name, value: Feature} for every record."""
    values = np.asarray(values)
    n = values.shape[0]
    values = values.reshape(n, -1)
    if values.dtype.kind == "f":
        payload = (np.ascontiguousarray(values, dtype="<f4").view(np.uint8).reshape(n, -1), None)
        kind_tag = 0x12  # Feature.float_list = 2
    else:
        if values.size and values.min() < 0:
            raise ValueError(f"feature {name!r}: negative int64 values are not supported")
        payload = _varint(values)
        kind_tag = 0x1A  # Feature.int64_list = 3
    key = name.encode()
    payload_len = _lengths(payload)
    list_len = 1 + _varint_len(payload_len) + payload_len  # XxxList{value=1 packed}
    feature_len = 1 + _varint_len(list_len) + list_len  # Feature{kind}
    entry_len = 2 + len(key) + 1 + _varint_len(feature_len) + feature_len  # MapEntry{key, value}
    return [
        _const(b"\x0a", n),  # Features.feature = 1
        _varint(entry_len),
        _const(bytes([0x0A, len(key)]) + key + b"\x12", n),  # key = 1; value = 2
        _varint(feature_len),
        _const(bytes([kind_tag]), n),
        _varint(list_len),
        _const(b"\x0a", n),  # value = 1, packed
        _varint(payload_len),
        payload,
    ]


def _example(features: dict[str, np.ndarray]) -> list[Part]:
    """The parts of a serialized Example for every record."""
    entries = [part for name, values in features.items() for part in _feature(name, values)]
    n = entries[0][0].shape[0]
    body_len = sum(_lengths(p) for p in entries)
    return [_const(b"\x0a", n), _varint(body_len), *entries]  # Example.features = 1


def encode_examples(features: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Serialize `tf.train.Example`s: one per row of the [n, k] arrays in `features`.

    Integer arrays become int64 lists, float arrays float lists, in the dict's order (as
    the original BERT writer's OrderedDict). Returns (flat bytes, bytes per record).
    """
    examples = _concat(_example(features))
    return _flat(examples), _lengths(examples)


def _frame(record: list[Part]) -> tuple[bytes, np.ndarray]:
    """TFRecord framing of records made of the parts `record`: (file bytes, framed lengths)."""
    n = record[0][0].shape[0]
    lengths = sum(_lengths(part) for part in record)
    data, valid = _concat([_const(bytes(12), n), *record, _const(bytes(4), n)])
    data[:, :8] = lengths.astype("<u8").view(np.uint8).reshape(n, 8)
    # (8-byte fields: vectorised numpy beats one call per record)
    data[:, 8:12] = _crc_bytes(crc32c_ragged_numpy(data[:, :8].reshape(-1), np.full(n, 8)))
    out = _flat((data, valid))
    framed = lengths + 16
    starts = np.cumsum(framed) - framed + 12  # where each record's data begins in `out`
    crc_at = (starts + lengths)[:, None] + np.arange(4)
    out[crc_at] = _crc_bytes(crc32c_ragged(out, lengths, starts))
    return out.tobytes(), framed


def _crc_bytes(crc: np.ndarray) -> np.ndarray:
    return mask_crc(crc).astype("<u4").view(np.uint8).reshape(-1, 4)


def frame_records(flat: np.ndarray, lengths: np.ndarray) -> bytes:
    """TFRecord framing of the records in (flat, lengths): the bytes of a .tfrecord file."""
    if len(lengths) == 0:
        return b""
    return _frame([_ragged(np.asarray(flat, np.uint8), lengths)])[0]


def encode_records(features: dict[str, np.ndarray]) -> tuple[bytes, np.ndarray]:
    """`encode_examples` then `frame_records` in one go: (file bytes, bytes per framed record)."""
    if len(next(iter(features.values()))) == 0:
        return b"", np.zeros(0, np.int64)
    return _frame(_example(features))


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
        head_crc = mask_crc(crc32c_ragged(buf, np.full(len(starts), 8), starts))
        stored_head = np.array([struct.unpack_from("<I", data, p + 8)[0] for p in starts], np.uint32)
        body_crc = mask_crc(crc32c_ragged(buf, lengths, starts + 12))
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
                v = _flat(_varint(np.array([[v]], np.uint64))).tobytes()
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
