"""Builders for the tasks that no package ships: next-sentence pairs and cloze span QA.

Both are made from real text (the Wikipedia sample, People's Daily) deterministically, and
both report what trivial baselines score, so a learner can tell a model that learned the task
from one that found a shortcut.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from ._core import seeded_rng

_EN_STOP = frozenset(
    """a an the of to in on at by for from with and or but as is was are were be been being it
    its this that these those he she they his her their them him we our you your i not no
    which who whom what when where while also has had have do does did than then there so such
    into over after before during between about against under up down out s""".split()
)


def en_words(text: str) -> set[str]:
    """Lowercased content words (stopwords dropped): what the overlap baselines compare."""
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _EN_STOP}


def zh_bigrams(text: str) -> set[str]:
    """Character bigrams of the CJK/alphanumeric characters of a Chinese sentence."""
    chars = [c for c in text if c.isalnum()]
    return {a + b for a, b in zip(chars, chars[1:], strict=False)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


# ----------------------------------------------------------------------------------------
# Next-sentence pairs
# ----------------------------------------------------------------------------------------

NSP_LABELS = ["random", "next"]  # label 1 = text_b really follows text_a


def build_next_sentence(
    docs: dict[str, list[tuple[str, list[str]]]],
    salt: str,
    negatives: str,
    min_sentences: int = 2,
    min_gap: int = 3,
) -> dict:
    """Pairs (text_a, text_b, label) from documents of sentences, per split.

    Every second sentence of a document is a ``text_a`` (so a sentence is ``text_a`` at most
    once). With probability 1/2, ``text_b`` is the sentence that follows it (label 1);
    otherwise it is a real sentence drawn from another document of the same split
    (``negatives="other"``, BERT's NSP) or from the same document at least ``min_gap``
    sentences away (``negatives="same"``). Documents shorter than ``min_sentences`` are skipped.
    """
    assert negatives in ("other", "same")
    out = {}
    for split, items in docs.items():
        rng = seeded_rng(salt, negatives, split)
        items = [(k, s) for k, s in items if len(s) >= min_sentences]
        text_a, text_b, label, doc = [], [], [], []
        for di, (key, sents) in enumerate(items):
            for i in range(0, len(sents) - 1, 2):
                if rng.random() < 0.5:
                    b, y = sents[i + 1], 1
                elif negatives == "same":
                    far = [j for j in range(len(sents)) if abs(j - i) >= min_gap]
                    if not far:
                        continue
                    b, y = sents[far[int(rng.integers(len(far)))]], 0
                else:
                    dj = int(rng.integers(len(items) - 1))
                    dj += dj >= di  # any document but this one
                    other = items[dj][1]
                    b, y = other[int(rng.integers(len(other)))], 0
                text_a.append(sents[i])
                text_b.append(b)
                label.append(y)
                doc.append(key)
        out[split] = {
            "text_a": text_a,
            "text_b": text_b,
            "label": label,
            "label_names": list(NSP_LABELS),
            "document": doc,
        }
    return out


def overlap_threshold_baseline(splits: dict, words) -> dict:
    """Predict "next" when the word overlap (Jaccard) of text_a and text_b is at least a
    threshold chosen on train; report accuracy on every split. This measures the topic
    shortcut: a random sentence from another document shares few words with text_a."""
    scores = {
        split: np.array(
            [jaccard(words(a), words(b)) for a, b in zip(d["text_a"], d["text_b"], strict=True)]
        )
        for split, d in splits.items()
    }
    labels = {split: np.array(d["label"]) for split, d in splits.items()}
    train_s, train_y = scores["train"], labels["train"]
    candidates = np.unique(np.quantile(train_s, np.linspace(0, 1, 201)))
    accs = [((train_s >= t) == train_y).mean() for t in candidates]
    best = float(candidates[int(np.argmax(accs))])
    return {
        "threshold": round(best, 4),
        **{
            f"{split}_accuracy": round(float(((scores[split] >= best) == labels[split]).mean()), 4)
            for split in splits
        },
    }


def label_stats(splits: dict, names: list[str]) -> dict:
    """Per split: count of each label and the accuracy of always predicting the training
    set's majority label."""
    train_counts = Counter(splits["train"]["label"])
    majority = max(sorted(train_counts), key=lambda k: train_counts[k])
    out = {"majority_label": names[majority]}
    for split, d in splits.items():
        counts = Counter(d["label"])
        out[f"{split}_counts"] = {names[k]: counts.get(k, 0) for k in range(len(names))}
        n = len(d["label"])
        out[f"{split}_majority_accuracy"] = round(counts.get(majority, 0) / n, 4) if n else None
    return out


# ----------------------------------------------------------------------------------------
# Cloze span QA (English)
# ----------------------------------------------------------------------------------------

BLANK = "_____"
_NUMBER = re.compile(r"(?<![\w.,])(?:\d[\d,]*\d|\d)(?:\.\d+)?(?!\w)")
_CAPWORD = r"[A-Z][^\W\d_]*(?:['’\-][^\W\d_]+)*(?![\w'’\-])"
_NAME = re.compile(
    rf"(?<![\w'’\-]){_CAPWORD}(?:\s+(?:(?:of|the|de|von|van|al|bin|du|la|le|da)\s+)*{_CAPWORD})*"
)
_NOT_NAMES = frozenset(
    """The A An In On At Of To By For From With And Or But As It Its This That These Those He She
    They His Her Their We Our You I If When While After Before During However Although Since
    There Here Some Many Most Other Such Both Each All One Two Three First Second Later Today
    Then Thus Also According Despite Between Among Under Over Unlike Like""".split()
)


def _candidates(sentence: str, title_words: set[str]) -> list[tuple[int, int, str]]:
    """Answer candidates in a sentence: numbers and capitalised phrases, as (start, end, type).

    A sentence-initial single capitalised word is skipped (its capital is grammatical), as are
    function words and any phrase sharing a word with the article title (the title is the most
    frequent entity of an article: an answer that is the title would be guessable)."""
    found = []
    for m in _NUMBER.finditer(sentence):
        if m.group() not in title_words:  # "11" in the article "Apollo 11"
            found.append((m.start(), m.end(), "number"))
    for m in _NAME.finditer(sentence):
        text = m.group()
        words = text.split()
        while words and words[0] in _NOT_NAMES:
            words = words[1:]
        if not words:
            continue
        start = m.start() + text.index(words[0])
        end = m.end()
        if sentence[end - 2 : end] in ("'s", "’s"):
            end -= 2  # possessive: "Zaire's" -> "Zaire"
        text = sentence[start:end]
        if start == 0 and len(words) == 1:
            continue
        if set(re.findall(r"\w+", text.lower())) & title_words:
            continue
        if len(text) < 2:
            continue
        found.append((start, end, "name"))
    return found


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _find_word(text: str, phrase: str) -> list[int]:
    """Offsets of `phrase` in `text` as a whole word (not inside a longer word)."""
    found, n = [], len(phrase)
    i = text.find(phrase)
    while i >= 0:
        before = text[i - 1] if i > 0 else " "
        after = text[i + n] if i + n < len(text) else " "
        if not _is_word_char(before) and not _is_word_char(after):
            found.append(i)
        i = text.find(phrase, i + 1)
    return found


def build_cloze(
    articles: dict[str, list[tuple[str, list[list[str]]]]], salt: str, min_sentences: int = 3
) -> dict:
    """Cloze questions over Wikipedia paragraphs, per split.

    For a paragraph of at least ``min_sentences`` sentences and a sentence in it: pick (at
    random, seeded) one answer candidate — a number or a capitalised phrase — that occurs
    exactly once in that sentence *and* at least once as a whole word in the rest of the
    paragraph. The question is the sentence with the answer replaced by ``_____``; the
    context is the paragraph *without* that sentence; ``answer_start`` is the character offset
    of the answer's first occurrence in the context. So the answer is always a span of the
    context, and the question's sentence is never in the context verbatim.
    """
    out = {}
    for split, items in articles.items():
        rng = seeded_rng(salt, split)
        rows = {k: [] for k in ("context", "question", "answer_text", "answer_start")}
        rows.update(answer_type=[], title=[], answer_occurrences=[])
        for title, paragraphs in items:
            title_words = set(re.findall(r"\w+", title.lower()))
            title_words -= {w.lower() for w in _NOT_NAMES} | {"of", "the", "and", "in"}
            for sentences in paragraphs:
                if len(sentences) < min_sentences:
                    continue
                for k, sentence in enumerate(sentences):
                    context = " ".join(sentences[:k] + sentences[k + 1 :])
                    usable = []
                    for start, end, typ in _candidates(sentence, title_words):
                        answer = sentence[start:end]
                        if len(_find_word(sentence, answer)) != 1:
                            continue
                        hits = _find_word(context, answer)
                        if hits:
                            usable.append((start, end, typ, hits))
                    if not usable:
                        continue
                    start, end, typ, hits = usable[int(rng.integers(len(usable)))]
                    rows["context"].append(context)
                    rows["question"].append(sentence[:start] + BLANK + sentence[end:])
                    rows["answer_text"].append(sentence[start:end])
                    rows["answer_start"].append(hits[0])
                    rows["answer_type"].append(typ)
                    rows["title"].append(title)
                    rows["answer_occurrences"].append(len(hits))
        out[split] = rows
    return out


def cloze_baselines(splits: dict) -> dict:
    """Exact-match scores of answer-blind heuristics that pick a candidate span of the context
    that does not appear in the question:

    - ``first``: the first candidate in the context;
    - ``most_frequent``: the most frequent candidate in the context;
    - ``same_type_most_frequent``: as above but told the answer's type (number or name) —
      an upper-ish bound on type-matching heuristics;
    - ``window_overlap``: the candidate whose ±10-word window shares the most content words
      with the question (the sliding-window baseline of MCTest/SQuAD).
    """
    out = {}
    for split, d in splits.items():
        n = len(d["question"])
        hits = Counter()
        for ctx, q, ans, typ in zip(
            d["context"], d["question"], d["answer_text"], d["answer_type"], strict=True
        ):
            cands = [c for c in _candidates(ctx, set()) if ctx[c[0] : c[1]] not in q]
            if not cands:
                continue
            texts = [ctx[s:e] for s, e, _ in cands]
            hits["first"] += texts[0] == ans
            freq = Counter(texts)
            hits["most_frequent"] += max(freq, key=lambda t: (freq[t], -texts.index(t))) == ans
            typed = [ctx[s:e] for s, e, t in cands if t == typ]
            if typed:
                tf = Counter(typed)
                hits["same_type_most_frequent"] += (
                    max(tf, key=lambda t: (tf[t], -typed.index(t))) == ans
                )
            qwords = en_words(q)
            best, best_score = None, -1
            for s, e, _ in cands:
                left = ctx[:s].split()[-10:]
                right = ctx[e:].split()[:10]
                score = len(en_words(" ".join(left + right)) & qwords)
                if score > best_score:
                    best, best_score = ctx[s:e], score
            hits["window_overlap"] += best == ans
        out[split] = {
            k: round(hits[k] / n, 4) if n else None
            for k in ("first", "most_frequent", "same_type_most_frequent", "window_overlap")
        }
    return out
