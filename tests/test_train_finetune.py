"""Fine-tuning end to end (in process) on user files and a course dataset, with a small real
BERT checkpoint made here; bad input gives one-line errors through the CLI."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest

WORDS = ["the", "a", "film", "was", "very", "good", "bad", "great", "awful", "plot", "in",
         "paris", "london", "john", "mary", "met", "lives", "code", "is", "what", "?", ".",
         "red", "blue", "green", "x1", "y2", "z3", "and", "it"]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """A real (randomly initialised) BERT-tiny checkpoint in the library format, with vocab."""
    import keras

    from bert_tf.config import BertConfig
    from bert_tf.models.bert import BertModel

    d = tmp_path_factory.mktemp("ckpt") / "tiny"
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    keras.utils.set_random_seed(0)
    model = BertModel(BertConfig.preset("tiny", vocab_size=len(vocab),
                                        max_position_embeddings=64))
    model.save_pretrained(str(d))
    (d / "vocab.txt").write_text("\n".join(vocab) + "\n")
    (d / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True}))
    return str(d)


def _opts(ckpt, out, **kw):
    from bert_tf.train.finetune import FinetuneOptions

    base = dict(init=ckpt, output=str(out), max_seq_length=24, batch_size=16, epochs=4,
                learning_rate=2e-3, strategy="cpu", verbose=0)
    base.update(kw)
    return FinetuneOptions(**base)


def _sentiment(n, rng):
    rows = []
    for _ in range(n):
        label = int(rng.integers(2))
        word = rng.choice(["good", "great"] if label else ["bad", "awful"])
        filler = list(rng.choice(["the", "film", "plot", "was", "very", "it", "and"], 5))
        filler.insert(int(rng.integers(6)), str(word))
        rows.append({"text": " ".join(filler), "label": "pos" if label else "neg"})
    return rows


def _write_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_classify_csv_learns_and_reports_heldout_metrics(ckpt, tmp_path):
    from bert_tf.train.finetune import finetune

    rng = np.random.default_rng(0)
    _write_csv(tmp_path / "train.csv", _sentiment(256, rng))
    _write_csv(tmp_path / "eval.csv", _sentiment(64, rng))
    m = finetune(_opts(ckpt, tmp_path / "out", task="classify", train=str(tmp_path / "train.csv"),
                       eval=str(tmp_path / "eval.csv")))
    assert m["step"] == 4 * (256 // 16)
    assert m["accuracy"] >= 0.9, m
    assert 0.0 <= m["majority_baseline_accuracy"] <= 1.0 and "f1" in m
    on_disk = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert on_disk["accuracy"] == pytest.approx(m["accuracy"])


def _ner(n, rng):
    sents = []
    for _ in range(n):
        who = str(rng.choice(["john", "mary"]))
        where = str(rng.choice(["paris", "london"]))
        toks = [who, str(rng.choice(["lives", "met"])), "in", where, "."]
        tags = ["B-PER", "O", "O", "B-LOC", "O"]
        if rng.random() < 0.5:
            toks = ["the", "film", "was", "good", "."]
            tags = ["O"] * 5
        sents.append((toks, tags))
    return sents


def _write_conll(path, sents):
    with open(path, "w") as f:
        for toks, tags in sents:
            f.writelines(f"{t} {g}\n" for t, g in zip(toks, tags, strict=True))
            f.write("\n")


def test_tag_conll_reports_entity_f1(ckpt, tmp_path):
    from bert_tf.train.finetune import finetune

    rng = np.random.default_rng(1)
    _write_conll(tmp_path / "train.conll", _ner(160, rng))
    _write_conll(tmp_path / "eval.conll", _ner(48, rng))
    m = finetune(_opts(ckpt, tmp_path / "out", task="tag", train=str(tmp_path / "train.conll"),
                       eval=str(tmp_path / "eval.conll")))
    assert m["true_entities"] > 0
    assert m["entity_f1"] >= 0.8, m
    assert set(m["entity_f1_by_type"]) <= {"PER", "LOC"}


def _qa(n, rng):
    rows = []
    for _ in range(n):
        code = str(rng.choice(["red", "blue", "green", "x1", "y2", "z3"]))
        pre = " ".join(rng.choice(["the", "film", "was", "good", "plot"], int(rng.integers(0, 5))))
        context = f"{pre} the code is {code} . and it was great".strip()
        rows.append({"context": context, "question": "what is the code ?", "answer_text": code,
                     "answer_start": context.index(f"is {code}") + 3})
    return rows


def test_span_offsets_round_trip_and_span_metrics(ckpt, tmp_path):
    from bert_tf.text.tokenizer import BertTokenizer
    from bert_tf.train.finetune import encode_span, finetune

    rng = np.random.default_rng(2)
    train, held = _qa(160, rng), _qa(48, rng)
    tok = BertTokenizer.from_pretrained(ckpt)
    enc = encode_span(tok, [r["question"] for r in train], [r["context"] for r in train],
                      [r["answer_start"] for r in train], [r["answer_text"] for r in train], 24)
    assert enc["answerable"].all()
    for i, r in enumerate(train):  # gold token span maps back to exactly the answer text
        off = enc["offsets"][i]
        s, e = int(enc["start"][i]), int(enc["end"][i])
        assert r["context"][off[s][0]: off[e][1]] == r["answer_text"]
        assert enc["context_mask"][i, s] == 1 and enc["segment_ids"][i, s] == 1
    for name, rows in (("train", train), ("eval", held)):
        with open(tmp_path / f"{name}.jsonl", "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    m = finetune(_opts(ckpt, tmp_path / "out", task="span", train=str(tmp_path / "train.jsonl"),
                       eval=str(tmp_path / "eval.jsonl"), epochs=6))
    assert m["eval_truncated"] == 0
    assert m["exact_match"] >= 0.8, m  # the answer is always the word after "code is"
    assert m["f1"] >= m["exact_match"]


def test_course_dataset_tagging(ckpt, tmp_path):
    from bert_tf.train.finetune import finetune

    m = finetune(_opts(ckpt, tmp_path / "out", task="tag", dataset="wnut16-ner-en", epochs=1,
                       max_train_examples=64, max_eval_examples=32))
    assert m["data"] == "wnut16-ner-en" and m["heldout_examples"] == 32
    assert 0.0 <= m["entity_f1"] <= 1.0 and m["true_entities"] > 0


def _cli(capsys, *args):
    from bert_tf.cli import main

    code = main(["finetune", *map(str, args)])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err[-1] if err else ""


def test_bad_input_is_one_line(ckpt, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nfine text,pos\nno label here,\n")
    good = tmp_path / "good.csv"
    good.write_text("text,label\na,pos\nb,neg\n")
    code, line = _cli(capsys, "--task", "classify", "--init", ckpt, "--train", bad, "--eval",
                      good, "--output", tmp_path / "o")
    assert code == 2 and line == f"bert-tf finetune: error: {bad}:3: missing field(s) label"
    unseen = tmp_path / "unseen.csv"
    unseen.write_text("text,label\na,maybe\n")
    code, line = _cli(capsys, "--task", "classify", "--init", ckpt, "--train", good, "--eval",
                      unseen, "--output", tmp_path / "o")
    assert code == 2 and "label 'maybe' is not among the training labels" in line
    code, line = _cli(capsys, "--task", "classify", "--init", ckpt, "--dataset",
                      "wnut16-ner-en", "--output", tmp_path / "o")
    assert code == 2 and "wnut16-ner-en is tagging, not classification" in line
    code, line = _cli(capsys, "--task", "tag", "--init", tmp_path / "nope", "--dataset",
                      "wnut16-ner-en", "--output", tmp_path / "o")
    assert code == 2 and "--init must be a checkpoint directory" in line
    assert not os.path.exists(tmp_path / "o" / "metrics.json")


def test_train_and_evaluate_learns_in_process_and_a_frozen_backbone_stays_put(ckpt):
    from bert_tf.models.bert import BertModel
    from bert_tf.text.tokenizer import BertTokenizer
    from bert_tf.train.finetune import train_and_evaluate

    rng = np.random.default_rng(0)
    rows = _sentiment(320, rng)
    split = {"text": [r["text"] for r in rows], "label": [int(r["label"] == "pos") for r in rows],
             "label_names": ["neg", "pos"]}
    train = {k: (v[:256] if k != "label_names" else v) for k, v in split.items()}
    held = {k: (v[256:] if k != "label_names" else v) for k, v in split.items()}
    tok = BertTokenizer.from_pretrained(ckpt)

    tuned = train_and_evaluate("classify", BertModel.from_pretrained(ckpt), tok, train, held,
                               max_length=24, epochs=4, batch_size=16, learning_rate=2e-3)
    assert tuned["steps"] == 64 and len(tuned["history"]["loss"]) == 4
    assert tuned["metrics"]["accuracy"] > 0.9  # one keyword decides the label

    backbone = BertModel.from_pretrained(ckpt)
    before = [w.copy() for w in backbone.get_weights()]
    frozen = train_and_evaluate("classify", backbone, tok, train, held, max_length=24, epochs=1,
                                batch_size=16, learning_rate=1e-2, freeze_backbone=True)
    for a, b in zip(before, backbone.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    head = frozen["model"].head.get_weights()[0]
    assert np.abs(head).max() > 0 and not frozen["model"].backbone.trainable


def test_tagging_cuts_a_sentence_at_the_first_word_that_does_not_fit(tmp_path):
    from bert_tf.text.tokenizer import BertTokenizer
    from bert_tf.train.finetune import encode_tagging

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "film",
                                 "long", "##er", "##est", "it"]) + "\n")
    tok = BertTokenizer(str(vocab))
    # "longerest" is 3 wordpieces, "it" one. With room for 4 pieces between [CLS] and [SEP],
    # the long word does not fit, and the short word after it must not be squeezed in either.
    enc = encode_tagging(tok, [["the", "film", "longerest", "it"]], [[1, 2, 3, 4]], max_length=6)
    assert list(enc["first_piece"][0]) == [1, 2, -1, -1]
    assert tok.convert_ids_to_tokens(enc["token_ids"][0][:4]) == ["[CLS]", "the", "film", "[SEP]"]
    assert list(enc["weights"][0]) == [0, 1, 1, 0, 0, 0]
