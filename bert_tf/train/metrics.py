"""Held-out metrics for fine-tuning, in plain numpy/Python (no framework needed).

- `classification_metrics`: accuracy, macro-F1 (and F1 of class 1 for two classes).
- `get_entities` / `entity_f1`: entity-level precision/recall/F1 over BIO(ES) tag sequences,
  the rules of `seqeval` in its default (conlleval-compatible) mode: an entity starts at
  `B-`, `S-`, or at an `I-`/`E-` that follows `O` or a different type, and ends when the next
  tag does not continue it. An entity counts as correct only if type, start and end match.
- `squad_em_f1`: SQuAD exact match and token F1 after the official normalisation
  (lowercase, no punctuation, no articles a/an/the, single spaces). Text without spaces
  (Chinese) is compared character by character.
"""

from __future__ import annotations

import collections
import re
import string

import numpy as np


# ----------------------------------------------------------------------------- classification
def classification_metrics(y_true, y_pred, num_classes: int | None = None) -> dict:
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    k = num_classes or int(max(y_true.max(initial=0), y_pred.max(initial=0)) + 1)
    f1s = []
    for c in range(k):
        tp = int(np.sum((y_pred == c) & (y_true == c)))
        fp = int(np.sum((y_pred == c) & (y_true != c)))
        fn = int(np.sum((y_pred != c) & (y_true == c)))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    out = {
        "accuracy": float(np.mean(y_true == y_pred)) if y_true.size else 0.0,
        "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
    }
    if k == 2:
        out["f1"] = float(f1s[1])
    counts = np.bincount(y_true, minlength=k) if y_true.size else np.zeros(k)
    out["majority_baseline_accuracy"] = float(counts.max() / max(y_true.size, 1))
    return out


# ----------------------------------------------------------------------------- entities
def _split(tag: str) -> tuple[str, str]:
    if tag in ("O", "", None):
        return "O", ""
    if len(tag) > 1 and tag[1] in "-_":
        return tag[0], tag[2:]
    return tag[0], ""


def _end_of_chunk(prev_tag, tag, prev_type, type_) -> bool:
    return (
        prev_tag in ("E", "S")
        or (prev_tag == "B" and tag in ("B", "S", "O"))
        or (prev_tag == "I" and tag in ("B", "S", "O"))
        or (prev_tag not in ("O", ".") and prev_type != type_)
    )


def _start_of_chunk(prev_tag, tag, prev_type, type_) -> bool:
    return (
        tag in ("B", "S")
        or (prev_tag in ("E", "S", "O") and tag in ("E", "I"))
        or (tag != "O" and tag != "." and prev_type != type_)
    )


def get_entities(tags: list[str]) -> list[tuple[str, int, int]]:
    """Entities `(type, first, last)` (inclusive) in one tag sequence.

    >>> get_entities(["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"])
    [('PER', 0, 1), ('LOC', 3, 3), ('LOC', 4, 4), ('ORG', 5, 5)]
    """
    out = []
    prev_tag, prev_type, begin = "O", "", 0
    for i, t in enumerate([*tags, "O"]):
        tag, type_ = _split(t)
        if _end_of_chunk(prev_tag, tag, prev_type, type_):
            out.append((prev_type, begin, i - 1))
        if _start_of_chunk(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return out


def entity_f1(true_seqs: list[list[str]], pred_seqs: list[list[str]]) -> dict:
    """Micro precision/recall/F1 over entities, plus per-type F1 and token accuracy."""
    if len(true_seqs) != len(pred_seqs):
        raise ValueError(f"{len(true_seqs)} true sequences but {len(pred_seqs)} predicted")
    true_set, pred_set = set(), set()
    tokens = correct = 0
    for n, (t, p) in enumerate(zip(true_seqs, pred_seqs, strict=True)):
        if len(t) != len(p):
            raise ValueError(f"sequence {n}: {len(t)} true tags but {len(p)} predicted")
        true_set.update((n, *e) for e in get_entities(list(t)))
        pred_set.update((n, *e) for e in get_entities(list(p)))
        tokens += len(t)
        correct += sum(a == b for a, b in zip(t, p, strict=True))
    tp = len(true_set & pred_set)
    precision = tp / len(pred_set) if pred_set else 0.0
    recall = tp / len(true_set) if true_set else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    per_type = {}
    for typ in sorted({e[1] for e in true_set | pred_set}):
        ts = {e for e in true_set if e[1] == typ}
        ps = {e for e in pred_set if e[1] == typ}
        tpt = len(ts & ps)
        per_type[typ] = 2 * tpt / (len(ts) + len(ps)) if ts or ps else 0.0
    return {"entity_precision": precision, "entity_recall": recall, "entity_f1": f1,
            "entity_f1_by_type": per_type, "true_entities": len(true_set),
            "predicted_entities": len(pred_set),
            "token_accuracy": correct / tokens if tokens else 0.0}


# ----------------------------------------------------------------------------- spans (SQuAD)
_PUNCT = set(string.punctuation) | set("，。！？、；：“”‘’（）《》【】…—·")


def normalize_answer(text: str) -> str:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def _answer_tokens(text: str) -> list[str]:
    norm = normalize_answer(text)
    if " " not in norm and any(ord(c) > 0x2E80 for c in norm):
        return list(norm)  # Chinese: characters
    return norm.split()


def squad_em_f1(truths: list[str], preds: list[str]) -> dict:
    if len(truths) != len(preds):
        raise ValueError(f"{len(truths)} answers but {len(preds)} predictions")
    em = f1 = 0.0
    for t, p in zip(truths, preds, strict=True):
        em += float(normalize_answer(t) == normalize_answer(p))
        tt, pt = _answer_tokens(t), _answer_tokens(p)
        common = collections.Counter(tt) & collections.Counter(pt)
        same = sum(common.values())
        if not tt or not pt:
            f1 += float(tt == pt)
        elif same:
            prec, rec = same / len(pt), same / len(tt)
            f1 += 2 * prec * rec / (prec + rec)
    n = max(len(truths), 1)
    return {"exact_match": em / n, "f1": f1 / n}
