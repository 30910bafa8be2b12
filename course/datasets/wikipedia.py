"""English Wikipedia sample (gensim test data) and the tasks built from it.

All four entries share one split of the articles (hash of the title, salt ``wikipedia-en``),
so the validation/test articles of the pair and QA tasks are the validation/test documents of
the corpus: pretrain on ``load("wikipedia-en", "train")`` and no test article was seen.
"""

from __future__ import annotations

from bert_tf.data import corpora

from ._core import Entry, register, source_file, split_of
from ._tasks import (
    build_cloze,
    build_next_sentence,
    cloze_baselines,
    en_words,
    label_stats,
    overlap_threshold_baseline,
)

SALT = "wikipedia-en"
LICENCE = "CC BY-SA 3.0 (Wikipedia text, shipped as gensim test data; gensim is LGPL-2.1)"
SOURCE = f"gensim/test/test_data/{corpora.WIKIPEDIA_SAMPLE_FILE}"


def _sources() -> list[str]:
    source_file("gensim", "test", "test_data", corpora.WIKIPEDIA_SAMPLE_FILE, dataset="wikipedia")
    return [corpora.wikipedia_sample_path()]


def _articles_by_split() -> dict[str, list[dict]]:
    out = {"train": [], "validation": [], "test": []}
    for article in corpora.wikipedia_sample_articles():
        out[split_of(SALT, article["title"])].append(article)
    return out


def _build_corpus(_paths) -> dict:
    splits = {}
    for split, articles in _articles_by_split().items():
        splits[split] = {
            "title": [a["title"] for a in articles],
            "documents": [[s for p in a["paragraphs"] for s in p] for a in articles],
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


def _build_nsp(negatives: str):
    def build(_paths) -> dict:
        docs = {
            split: [(a["title"], [s for p in a["paragraphs"] for s in p]) for a in articles]
            for split, articles in _articles_by_split().items()
        }
        min_sentences = 2 if negatives == "other" else 8
        splits = build_next_sentence(docs, SALT, negatives, min_sentences=min_sentences)
        stats = label_stats(splits, splits["train"]["label_names"])
        stats["word_overlap_baseline"] = overlap_threshold_baseline(splits, en_words)
        return {"splits": splits, "stats": stats}

    return build


def _build_cloze(_paths) -> dict:
    articles = {
        split: [(a["title"], a["paragraphs"]) for a in items]
        for split, items in _articles_by_split().items()
    }
    splits = build_cloze(articles, SALT)
    stats = {"baselines_exact_match": cloze_baselines(splits)}
    for split, d in splits.items():
        n = len(d["question"])
        stats[f"{split}_answer_types"] = {t: d["answer_type"].count(t) for t in ("name", "number")}
        stats[f"{split}_answer_once_in_context"] = (
            round(sum(o == 1 for o in d["answer_occurrences"]) / n, 4) if n else None
        )
    return {"splits": splits, "stats": stats}


register(
    Entry(
        name="wikipedia-en",
        kind="corpus",
        language="en",
        package="gensim",
        source=SOURCE,
        licence=LICENCE,
        unit="article",
        sizes={"train": 74, "validation": 12, "test": 12},
        description="98 real English Wikipedia articles (gensim's shortened dump sample); "
        "prose only, split into sentences. Fields: title, documents (sentences per article).",
        sources=_sources,
        build=_build_corpus,
        card="""\
Made by `bert_tf.data.corpora.wikipedia_sample_articles()`: gensim's `extract_pages` +
`filter_wiki`, then only prose is kept — headings, lists, tables, captions, lines without
terminal punctuation and everything from "See also"/"References"/"External links" on are
dropped; pages with fewer than two prose sentences (redirects, stubs) are dropped, which
leaves 98 of the 106 non-redirect pages. Sentences come from the rule-based splitter
`bert_tf.data.corpora.split_sentences` (abbreviations, initials and decimals handled; it
still errs on rare cases such as numbered lists "1. Lincoln; 2. ..."). Split by article
title hash. `bert_tf.data.corpora.write_pretraining_text(docs, path)` writes the original
BERT input format (one sentence per line, blank line between documents).""",
    )
)

_NSP_CARD = """\
Built (no package ships it) from the `wikipedia-en` articles of the same split. Every
second sentence of an article is text_a; with probability 1/2 text_b is the sentence that
really follows it (label 1, "next"), otherwise {negatives} (label 0, "random").
text_a/text_b are real, unedited sentences. The `document` field names the article.
Known shortcuts: {shortcut}
The word-overlap baseline predicts "next" when the Jaccard overlap of content words is
above a threshold fitted on train; its score is in the stats below."""

register(
    Entry(
        name="wiki-nsp-en",
        kind="sentence-pair",
        language="en",
        package="gensim",
        source=SOURCE,
        licence=LICENCE,
        unit="pair",
        sizes={"train": 6831, "validation": 1243, "test": 676},
        description="Is text_b the next sentence after text_a, or a random sentence from "
        "another article? (BERT's NSP, built from the Wikipedia sample.)",
        sources=_sources,
        build=_build_nsp("other"),
        card=_NSP_CARD.format(
            negatives="a random sentence from another article of the same split, as in BERT's NSP",
            shortcut="topic. A sentence from another article is usually about something "
            "else, so word overlap alone separates many pairs (the baseline below). ALBERT's "
            "authors argued NSP is mostly topic prediction and replaced it with sentence-order "
            "prediction; RoBERTa dropped NSP without loss. Use `wiki-nsp-hard-en` to test "
            "coherence rather than topic.",
        ),
    )
)

register(
    Entry(
        name="wiki-nsp-hard-en",
        kind="sentence-pair",
        language="en",
        package="gensim",
        source=SOURCE,
        licence=LICENCE,
        unit="pair",
        sizes={"train": 6827, "validation": 1243, "test": 674},
        description="Is text_b the next sentence after text_a, or a sentence from the same "
        "article at least 3 sentences away? (Topic cannot decide it.)",
        sources=_sources,
        build=_build_nsp("same"),
        card=_NSP_CARD.format(
            negatives="a sentence of the same article at least 3 sentences away from "
            "text_a (articles with at least 8 sentences only)",
            shortcut="the topic is shared, so it cannot decide; adjacent sentences still share "
            "somewhat more words (the baseline below), and a text_b opening with a pronoun or "
            'a connective ("He", "However") hints at a continuation.',
        ),
    )
)

register(
    Entry(
        name="wiki-cloze-qa-en",
        kind="span-qa",
        language="en",
        package="gensim",
        source=SOURCE,
        licence=LICENCE,
        unit="question",
        sizes={"train": 3073, "validation": 573, "test": 346},
        description="Cloze extractive QA: a sentence with a name or number blanked out is the "
        "question; the answer is a span of its paragraph, from which that sentence is removed.",
        sources=_sources,
        build=_build_cloze,
        card="""\
Built (no package ships extractive QA) from paragraphs of >= 3 sentences of the
`wikipedia-en` articles of the same split. For each sentence, one candidate answer — a
number or a capitalised phrase — is chosen (seeded) among those that occur exactly once in
the sentence and at least once, as a whole word, elsewhere in the paragraph. Question = the
sentence with the answer replaced by `_____`; context = the paragraph without that sentence;
answer_start = character offset of the answer's first occurrence in the context (so
`context[answer_start:][:len(answer_text)] == answer_text`, always). Phrases that share a
word with the article title are never answers (the title is the most frequent entity of an
article, a trivial guess). Fields also give answer_type (name|number), the article title and
how often the answer occurs in the context.
Honest limits: these are cloze questions, not natural questions; the answer is recoverable
only because the paragraph mentions it again, often in a related sentence, so lexical
matching around candidates helps (see the window-overlap baseline); the blank's position
and the surrounding words constrain the answer type (a year after "In", a name before
"said"). Exact-match scores of answer-blind heuristics are in the stats below (first /
most frequent candidate of the context not in the question; the same told the gold answer
type; the candidate whose +-10-word window best overlaps the question).""",
    )
)
