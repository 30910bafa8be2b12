"""Fine-tuning metrics against hand-computed values (seqeval/SQuAD conventions)."""

import pytest

from bert_tf.train.metrics import (
    classification_metrics,
    entity_f1,
    get_entities,
    normalize_answer,
    squad_em_f1,
)


def test_entities_follow_conlleval_rules():
    assert get_entities(["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"]) == [
        ("PER", 0, 1), ("LOC", 3, 3), ("LOC", 4, 4), ("ORG", 5, 5)]
    # a type change inside I- tags starts a new entity; trailing entity is closed
    assert get_entities(["I-PER", "I-PER", "I-LOC"]) == [("PER", 0, 1), ("LOC", 2, 2)]
    assert get_entities(["O", "O"]) == []
    assert get_entities(["B-MISC", "B-MISC", "I-MISC"]) == [("MISC", 0, 0), ("MISC", 1, 2)]
    # BIOES
    assert get_entities(["S-PER", "B-LOC", "E-LOC", "O"]) == [("PER", 0, 0), ("LOC", 1, 2)]


def test_entity_f1_counts_exact_matches_only():
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "I-ORG", "O"]]
    pred = [["B-PER", "O", "O", "B-LOC"], ["O", "B-ORG", "I-ORG", "O"]]
    m = entity_f1(true, pred)
    # true: PER(0-1), LOC(3), ORG(1-2); predicted: PER(0-0) wrong, LOC right, ORG right
    assert m["entity_precision"] == pytest.approx(2 / 3)
    assert m["entity_recall"] == pytest.approx(2 / 3)
    assert m["entity_f1"] == pytest.approx(2 / 3)
    assert m["entity_f1_by_type"] == {"LOC": 1.0, "ORG": 1.0, "PER": 0.0}
    assert m["token_accuracy"] == pytest.approx(7 / 8)
    with pytest.raises(ValueError, match="sequence 0"):
        entity_f1([["O", "O"]], [["O"]])


def test_classification_metrics():
    m = classification_metrics([0, 1, 1, 1, 0], [0, 1, 0, 1, 1], num_classes=2)
    assert m["accuracy"] == pytest.approx(0.6)
    # class 1: tp=2 fp=1 fn=1 → 2/3; class 0: tp=1 fp=1 fn=1 → 1/2
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert m["majority_baseline_accuracy"] == pytest.approx(0.6)


def test_squad_em_f1():
    assert normalize_answer("The  Trojan War!") == "trojan war"
    m = squad_em_f1(["Trojan War", "Paris", "Hector of Troy"], ["the Trojan war", "Achilles", "Hector"])
    assert m["exact_match"] == pytest.approx(1 / 3)
    # third: pred {hector}, truth {hector, of, troy}: p=1, r=1/3 → F1 0.5
    assert m["f1"] == pytest.approx((1 + 0 + 0.5) / 3)
    zh = squad_em_f1(["北京大学"], ["北京"])
    assert zh["exact_match"] == 0.0 and zh["f1"] == pytest.approx(2 * 1 * 0.5 / 1.5)
