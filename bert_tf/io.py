"""Files that appear complete or not at all.

Every file the library or the course writes (vocabularies, configs, corpora, manifests,
metrics, caches) goes through `atomic_write`: a crash or `kill -9` mid-write leaves the old
file (or none), never a truncated one that looks finished.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import IO


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Yield a file opened on a temporary name beside `path`.

    When the block finishes, the data is flushed to disk and the file renamed over `path`
    (atomic on POSIX and Windows). If the block raises, the temporary file is removed and
    `path` is left as it was.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        newline = None if "b" in mode else "\n"
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would make the result unreadable to others
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_atomic(path: str | os.PathLike, data: bytes | str) -> None:
    """Write bytes, or text as UTF-8, to `path` atomically."""
    if isinstance(data, str):
        with atomic_write(path, "w", encoding="utf-8") as f:
            f.write(data)
    else:
        with atomic_write(path, "wb") as f:
            f.write(data)
