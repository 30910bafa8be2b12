"""Fine-tuning a pretrained BERT on classification, sentence pairs, tagging or span QA.

    metrics = finetune(FinetuneOptions(task="tag", init="runs/mini/model",
                                       dataset="wnut16-ner-en", output="runs/ner"))

Data: a course dataset (`course.datasets.load(name)`: train + validation splits), or user
files: `train`/`eval` in CSV (header row), JSONL (one object per line) or CoNLL (tagging:
`token tag` per line, a blank line between sentences). Fields by task:

| task | fields |
|---|---|
| classify | `text`, `label` |
| pair | `text_a`, `text_b`, `label` |
| tag | `tokens` (list), `tags` (list of BIO strings), or CoNLL |
| span | `context`, `question`, `answer_text`, `answer_start` (character offset) |

Labels may be strings or ints; string labels are numbered in sorted order of the training
file. Held-out metrics: accuracy, macro-F1 (F1 of class 1 when binary) and the majority
baseline for classify/pair; entity P/R/F1 (seqeval rules, `bert_tf.train.metrics`) and
token accuracy for tag; exact match and F1 for span. Training goes through the same
`fit_steps` loop as pretraining (strategies, checkpoints every epoch, `resume`).

Tagging labels the first wordpiece of each word (the other pieces get weight 0), as in the
BERT paper. Span QA packs `[CLS] question [SEP] context [SEP]`, truncating the context
(no document stride): a training example whose answer is cut off is skipped, and counted
as a miss when evaluating (`eval_truncated` in the metrics says how many).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import sys
import warnings

import numpy as np

from bert_tf.errors import BertTfError, CheckpointError, DataError

TASKS = ("classify", "pair", "tag", "span")


@dataclasses.dataclass
class FinetuneOptions:
    task: str
    init: str
    output: str
    dataset: str | None = None
    train: str | None = None
    eval: str | None = None
    max_seq_length: int = 128
    batch_size: int = 32
    epochs: int = 3
    learning_rate: float = 5e-5
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    strategy: str = "auto"
    mixed_precision: str = "no"
    jit_compile: str | bool = "auto"
    resume: bool = False
    max_train_examples: int | None = None
    max_eval_examples: int | None = None
    seed: int = 12345
    verbose: str | int = "auto"


def _log(msg: str) -> None:
    print(f"bert-tf finetune: {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ reading data
def _read_rows(path: str) -> list[dict]:
    if not os.path.isfile(path):
        raise DataError(f"{path}: no such file")
    ext = os.path.splitext(path)[1].lower()
    if ext in (".jsonl", ".json"):
        rows = []
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise DataError(f"{path}:{n}: not JSON ({err.msg})") from None
                if not isinstance(row, dict):
                    raise DataError(f"{path}:{n}: expected a JSON object per line")
                row["_line"] = n
                rows.append(row)
        return rows
    if ext in (".csv", ".tsv"):
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f, delimiter="\t" if ext == ".tsv" else ",")
            rows = []
            for n, row in enumerate(reader, 2):
                row["_line"] = n
                rows.append(row)
        return rows
    if ext in (".conll", ".txt", ".bio", ".iob"):
        return _read_conll(path)
    raise DataError(f"{path}: unknown file type {ext!r}; use .csv, .tsv, .jsonl or .conll")


def _read_conll(path: str) -> list[dict]:
    rows, tokens, tags, start = [], [], [], 1
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("-DOCSTART-"):
                if tokens:
                    rows.append({"tokens": tokens, "tags": tags, "_line": start})
                tokens, tags, start = [], [], n + 1
                continue
            parts = line.split()
            if len(parts) < 2:
                raise DataError(f"{path}:{n}: expected 'token tag', got {line[:60]!r}")
            tokens.append(parts[0])
            tags.append(parts[-1])
    if tokens:
        rows.append({"tokens": tokens, "tags": tags, "_line": start})
    return rows


def _need(row: dict, keys: tuple, path: str) -> None:
    missing = [k for k in keys if row.get(k) in (None, "")]
    if missing:
        raise DataError(f"{path}:{row.get('_line', '?')}: missing field(s) {', '.join(missing)}")


def _labels_to_ids(values: list, names: list[str] | None, where: str) -> tuple[list[int], list[str]]:
    if names is None:
        if all(isinstance(v, int) or (isinstance(v, str) and v.lstrip("-").isdigit())
               for v in values):
            ids = [int(v) for v in values]
            return ids, [str(i) for i in range(max(ids) + 1)]
        names = sorted({str(v) for v in values})
    index = {n: i for i, n in enumerate(names)}
    out = []
    for v in values:
        key = str(v) if not isinstance(v, int) else names[v] if 0 <= v < len(names) else None
        if key not in index:
            raise DataError(f"{where}: label {v!r} is not among the training labels {names}")
        out.append(index[key])
    return out, names


def load_split(task: str, path: str, label_names: list[str] | None = None) -> dict:
    """Read a user file into the course-dataset split format for `task`."""
    rows = _read_rows(path)
    if not rows:
        raise DataError(f"{path}: no examples")
    if task == "classify":
        for r in rows:
            _need(r, ("text", "label"), path)
        labels, names = _labels_to_ids([r["label"] for r in rows], label_names, path)
        return {"text": [r["text"] for r in rows], "label": labels, "label_names": names}
    if task == "pair":
        for r in rows:
            _need(r, ("text_a", "text_b", "label"), path)
        labels, names = _labels_to_ids([r["label"] for r in rows], label_names, path)
        return {"text_a": [r["text_a"] for r in rows], "text_b": [r["text_b"] for r in rows],
                "label": labels, "label_names": names}
    if task == "tag":
        for r in rows:
            _need(r, ("tokens", "tags"), path)
            if isinstance(r["tokens"], str):
                r["tokens"], r["tags"] = r["tokens"].split(), r["tags"].split()
            if len(r["tokens"]) != len(r["tags"]):
                raise DataError(f"{path}:{r['_line']}: {len(r['tokens'])} tokens but "
                                f"{len(r['tags'])} tags")
        names = label_names or sorted({t for r in rows for t in r["tags"]},
                                      key=lambda t: (t != "O", t[2:], t))
        index = {n: i for i, n in enumerate(names)}
        tags = []
        for r in rows:
            bad = [t for t in r["tags"] if t not in index]
            if bad:
                raise DataError(f"{path}:{r['_line']}: tag {bad[0]!r} is not among the "
                                f"training tags {names}")
            tags.append([index[t] for t in r["tags"]])
        return {"tokens": [list(r["tokens"]) for r in rows], "tags": tags, "tag_names": names}
    if task == "span":
        out = {"context": [], "question": [], "answer_text": [], "answer_start": []}
        for r in rows:
            _need(r, ("context", "question", "answer_text", "answer_start"), path)
            start = int(r["answer_start"])
            if r["context"][start:start + len(r["answer_text"])] != r["answer_text"]:
                raise DataError(f"{path}:{r['_line']}: answer_text is not at answer_start "
                                "in context")
            for k in out:
                out[k].append(start if k == "answer_start" else r[k])
        return out
    raise BertTfError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")


_KIND = {"classify": "classification", "pair": "sentence-pair", "tag": "tagging",
         "span": "span-qa"}


def load_data(o: FinetuneOptions) -> tuple[dict, dict, str]:
    if o.dataset:
        from course import datasets

        entries = {e.name: e for e in datasets.catalog()}
        entry = entries.get(o.dataset)
        if entry is None:
            choices = sorted(n for n, e in entries.items() if e.kind == _KIND[o.task])
            raise DataError(f"unknown dataset {o.dataset!r}; for task {o.task}: "
                            f"{', '.join(choices)}")
        if entry.kind != _KIND[o.task]:
            raise DataError(f"dataset {o.dataset} is {entry.kind}, not {_KIND[o.task]} "
                            f"(task {o.task})")
        return (datasets.load(o.dataset, split="train"),
                datasets.load(o.dataset, split="validation"), o.dataset)
    if not o.train:
        raise DataError("give --dataset NAME (a course dataset) or --train FILE [--eval FILE]")
    train = load_split(o.task, o.train)
    names = train.get("label_names") or train.get("tag_names")
    if not o.eval:
        raise DataError("--eval FILE is required with --train (held-out metrics)")
    held = load_split(o.task, o.eval, names)
    return train, held, os.path.basename(o.train)


def _take(split: dict, n: int | None) -> dict:
    if not n:
        return split
    return {k: (v[:n] if isinstance(v, list) and k not in ("label_names", "tag_names") else v)
            for k, v in split.items()}


# ------------------------------------------------------------------------------ encoding
def encode_tagging(tokenizer, tokens: list[list[str]], tags: list[list[int]] | None,
                   max_length: int) -> dict:
    """Wordpieces of each word; the first piece carries the word's tag (weight 1)."""
    n = len(tokens)
    ids = np.full((n, max_length), tokenizer.pad_id, np.int32)
    mask = np.zeros((n, max_length), np.int32)
    labels = np.zeros((n, max_length), np.int32)
    weights = np.zeros((n, max_length), np.float32)
    first_piece = np.full((n, max(len(t) for t in tokens) if tokens else 1), -1, np.int64)
    flat = [w for sent in tokens for w in sent]
    pieces = tokenizer.tokenize_ids(flat) if flat else []
    k = 0
    for i, sent in enumerate(tokens):
        row, pos, full = [tokenizer.cls_id], 1, False
        for j, _word in enumerate(sent):
            p = pieces[k] or [tokenizer.unk_id]
            k += 1
            # The sentence is cut at the first word that does not fit: it and every later word
            # get no prediction (counted as "O"), and no later, shorter word jumps the gap.
            full = full or pos + len(p) > max_length - 1
            if full:
                continue
            first_piece[i, j] = pos
            if tags is not None:
                labels[i, pos] = tags[i][j]
                weights[i, pos] = 1.0
            row.extend(p)
            pos += len(p)
        row.append(tokenizer.sep_id)
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask,
            "labels": labels, "weights": weights, "first_piece": first_piece}


_UNIT = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W\u3400-\u9fff\uf900-\ufaff]+|[^\w\s]")


def encode_span(tokenizer, questions, contexts, starts, answers, max_length: int) -> dict:
    """`[CLS] question [SEP] context [SEP]` with answer start/end token positions.

    The context is cut into units (a word, a CJK character or a punctuation mark) with their
    character offsets, so a predicted token span maps back to a substring of the context."""
    n = len(contexts)
    ids = np.full((n, max_length), tokenizer.pad_id, np.int32)
    seg = np.zeros((n, max_length), np.int32)
    mask = np.zeros((n, max_length), np.int32)
    ctx_mask = np.zeros((n, max_length), np.int32)
    start_pos = np.zeros(n, np.int32)
    end_pos = np.zeros(n, np.int32)
    answerable = np.zeros(n, bool)
    offsets = []  # per example: token position -> (char_start, char_end) for context tokens
    q_ids = tokenizer.tokenize_ids(list(questions))
    for i in range(n):
        units = [(m.start(), m.end()) for m in _UNIT.finditer(contexts[i])]
        unit_pieces = tokenizer.tokenize_ids([contexts[i][a:b] for a, b in units]) if units else []
        q = q_ids[i][: max_length // 2]
        row = [tokenizer.cls_id, *q, tokenizer.sep_id]
        ctx_start = len(row)
        off = {}
        a_start = starts[i] if starts is not None else -1
        a_end = a_start + len(answers[i]) if answers is not None else -1
        s_tok = e_tok = -1
        for (a, b), p in zip(units, unit_pieces, strict=True):
            if len(row) + len(p) > max_length - 1:
                break
            for t in range(len(p)):
                off[len(row) + t] = (a, b)
            if s_tok < 0 and a_start >= 0 and b > a_start:
                s_tok = len(row)
            if a_end > 0 and a < a_end:
                e_tok = len(row) + len(p) - 1
            row.extend(p)
        row.append(tokenizer.sep_id)
        ids[i, : len(row)] = row
        seg[i, ctx_start : len(row)] = 1
        mask[i, : len(row)] = 1
        ctx_mask[i, ctx_start : len(row) - 1] = 1
        last_char = max((b for _, b in off.values()), default=0)
        if s_tok >= 0 and e_tok >= s_tok and a_end <= last_char:
            start_pos[i], end_pos[i], answerable[i] = s_tok, e_tok, True
        offsets.append(off)
    return {"token_ids": ids, "segment_ids": seg, "padding_mask": mask, "context_mask": ctx_mask,
            "start": start_pos, "end": end_pos, "answerable": answerable, "offsets": offsets}


def encode(task: str, tokenizer, split: dict, max_length: int) -> dict:
    if task == "classify":
        enc = tokenizer(split["text"], max_length=max_length)
        enc["labels"] = np.asarray(split["label"], np.int32)
        return enc
    if task == "pair":
        enc = tokenizer(split["text_a"], split["text_b"], max_length=max_length)
        enc["labels"] = np.asarray(split["label"], np.int32)
        return enc
    if task == "tag":
        return encode_tagging(tokenizer, split["tokens"], split["tags"], max_length)
    return encode_span(tokenizer, split["question"], split["context"], split["answer_start"],
                       split["answer_text"], max_length)


INPUTS = ("token_ids", "segment_ids", "padding_mask")


def keras_arrays(task: str, enc: dict, train: bool) -> tuple:
    """(x, y, sample_weight) numpy structures for `fit`/`evaluate`."""
    x = {k: enc[k] for k in INPUTS}
    if task in ("classify", "pair"):
        return x, enc["labels"], None
    if task == "tag":
        return x, enc["labels"], enc["weights"]
    keep = enc["answerable"] if train else np.ones(len(enc["start"]), bool)
    x = {k: v[keep] for k, v in x.items()}
    return x, {"start_logits": enc["start"][keep], "end_logits": enc["end"][keep]}, None


# ------------------------------------------------------------------------------ main
def build_model(task: str, backbone, num_labels: int):
    from bert_tf.models.finetune import BertClassifier, BertSpanQA, BertTokenClassifier

    if task in ("classify", "pair"):
        return BertClassifier(backbone, num_classes=num_labels)
    if task == "tag":
        return BertTokenClassifier(backbone, num_labels=num_labels)
    return BertSpanQA(backbone)


def training_arrays(task: str, tokenizer, train_split: dict, eval_split: dict,
                    max_length: int) -> tuple:
    """(held-out encoding, x, y, sample_weight): both splits encoded, the training one as Keras arrays."""
    train_enc = encode(task, tokenizer, train_split, max_length)
    eval_enc = encode(task, tokenizer, eval_split, max_length)
    return (eval_enc, *keras_arrays(task, train_enc, train=True))


def num_labels_of(task: str, split: dict) -> int:
    """Classes (classify/pair) or BIO tags (tag) of a split; 2 for span (start, end)."""
    names = split.get("label_names") or split.get("tag_names")
    if task in ("classify", "pair", "tag") and not names:
        raise DataError(f"a {task} split needs "
                        f"{'tag_names' if task == 'tag' else 'label_names'}")
    return len(names) if names else 2


def compile_args(task: str) -> dict:
    import keras

    sce = keras.losses.SparseCategoricalCrossentropy
    if task in ("classify", "pair"):
        return {"loss": sce(from_logits=True),
                "metrics": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]}
    if task == "tag":
        return {"loss": sce(from_logits=True, reduction="mean_with_sample_weight"),
                "weighted_metrics": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]}
    return {"loss": {"start_logits": sce(from_logits=True), "end_logits": sce(from_logits=True)}}


def heldout_metrics(task, model, enc, split, batch_size) -> dict:
    from bert_tf.train.metrics import classification_metrics, entity_f1, squad_em_f1

    x = {k: enc[k] for k in INPUTS}
    out = model.predict(x, batch_size=batch_size, verbose=0)
    if task in ("classify", "pair"):
        pred = np.argmax(out, axis=-1)
        return classification_metrics(enc["labels"], pred, len(split["label_names"]))
    if task == "tag":
        names = split["tag_names"]
        pred_tok = np.argmax(out, axis=-1)
        true_seqs, pred_seqs = [], []
        for i, tags in enumerate(split["tags"]):
            fp = enc["first_piece"][i, : len(tags)]
            true_seqs.append([names[t] for t in tags])
            pred_seqs.append([names[pred_tok[i, p]] if p >= 0 else "O" for p in fp])
        m = entity_f1(true_seqs, pred_seqs)
        m["truncated_words"] = int(sum(int(np.sum(enc["first_piece"][i, : len(t)] < 0))
                                       for i, t in enumerate(split["tags"])))
        return m
    from bert_tf.models.finetune import decode_best_span

    s, e, _ = decode_best_span(out["start_logits"], out["end_logits"], 30, enc["context_mask"])
    s, e = np.asarray(s), np.asarray(e)
    preds = []
    for i in range(len(s)):
        off = enc["offsets"][i]
        if int(s[i]) in off and int(e[i]) in off:
            preds.append(split["context"][i][off[int(s[i])][0]: off[int(e[i])][1]])
        else:
            preds.append("")
    m = squad_em_f1(split["answer_text"], preds)
    m["eval_truncated"] = int(np.sum(~enc["answerable"]))
    m["examples"] = [{"question": split["question"][i], "answer": split["answer_text"][i],
                      "predicted": preds[i]} for i in range(min(5, len(preds)))]
    return m


def finetune(o: FinetuneOptions, log=_log) -> dict:
    if o.task not in TASKS:
        raise BertTfError(f"unknown task {o.task!r}; choose from {', '.join(TASKS)}")
    for name in ("batch_size", "epochs", "max_seq_length"):
        if getattr(o, name) < 1:
            raise BertTfError(f"--{name.replace('_', '-')} must be at least 1")
    import keras

    from bert_tf.models.bert import BertModel
    from bert_tf.text.tokenizer import BertTokenizer
    from bert_tf.train import optimization, strategy
    from bert_tf.train.loop import fit_steps
    from bert_tf.train.pretrain import MIXED_PRECISION, _write_json_atomic

    placement = strategy.resolve(o.strategy)
    log(f"strategy: {placement.description}")
    placement.check_batch_size(o.batch_size)

    train_split, eval_split, source = load_data(o)
    train_split = _take(train_split, o.max_train_examples)
    eval_split = _take(eval_split, o.max_eval_examples)
    if not os.path.isdir(o.init):
        raise DataError(f"{o.init}: --init must be a checkpoint directory")
    tokenizer = BertTokenizer.from_pretrained(o.init)
    eval_enc, x, y, w = training_arrays(o.task, tokenizer, train_split, eval_split,
                                        o.max_seq_length)
    n_train = len(x["token_ids"])
    if n_train < o.batch_size:
        raise DataError(f"{source}: {n_train} usable training examples, fewer than one batch "
                        f"of {o.batch_size}")
    num_labels = num_labels_of(o.task, train_split)
    steps_per_epoch = n_train // o.batch_size
    total = steps_per_epoch * o.epochs
    log(f"{source}: {n_train:,} training / {len(eval_enc['token_ids']):,} held-out examples, "
        f"{total} steps")

    # The pooler gets no gradient in tagging/span tasks (they read sequence_output): expected.
    warnings.filterwarnings("ignore", message="Gradients do not exist for variables")
    keras.mixed_precision.set_global_policy(MIXED_PRECISION[o.mixed_precision])
    keras.utils.set_random_seed(o.seed)
    with placement.scope():
        backbone = BertModel.from_pretrained(o.init)
        model = build_model(o.task, backbone, num_labels)
        opt = optimization.create_optimizer(
            model, learning_rate=o.learning_rate, total_steps=total,
            warmup_steps=int(o.warmup_fraction * total), weight_decay=o.weight_decay)
        model.compile(optimizer=opt,
                      jit_compile=strategy.resolve_jit_compile(o.jit_compile, placement, model),
                      **compile_args(o.task))
    strategy.apply_keras_workarounds(model, placement)

    import tensorflow as tf

    from bert_tf.data.pipeline import without_autotune

    def make_dataset(start_step):
        parts = (x, y) if w is None else (x, y, w)
        ds = tf.data.Dataset.from_tensor_slices(parts).repeat()
        ds = ds.shuffle(min(n_train, 10_000), seed=o.seed + start_step)
        return without_autotune(ds.batch(o.batch_size, drop_remainder=True).prefetch(2))

    verbose = o.verbose
    if verbose == "auto":
        verbose = 1 if sys.stderr.isatty() else 2
    try:
        result = fit_steps(model, None, total_steps=total, output_dir=o.output,
                           checkpoint_every=steps_per_epoch, keep=1, resume=o.resume,
                           placement=placement, make_dataset=make_dataset, verbose=verbose,
                           extra_state={"task": o.task, "init": o.init, "labels": num_labels})
    except FileExistsError as err:
        raise CheckpointError(str(err)) from None
    metrics = {"task": o.task, "data": source, "init": o.init, "step": result["step"],
               "loss": result["logs"].get("loss"), "resumed_from_step": result["resumed_from_step"],
               "train_examples": n_train, "heldout_examples": len(eval_enc["token_ids"])}
    metrics.update(heldout_metrics(o.task, model, eval_enc, eval_split, o.batch_size))
    metrics["steps_per_second"] = result["steady_steps_per_second"]
    if placement.is_chief:
        _write_json_atomic(os.path.join(o.output, "metrics.json"), metrics)
    return metrics


def train_and_evaluate(task: str, backbone, tokenizer, train_split: dict, eval_split: dict, *,
                       max_length: int = 128, epochs: int = 2, batch_size: int = 32,
                       learning_rate: float = 5e-5, freeze_backbone: bool = False,
                       seed: int = 0, jit_compile: bool | str = "auto", verbose: int = 0) -> dict:
    """Fine-tune `backbone` on a split in this process and score the held-out split.

    The notebook-sized sibling of `finetune` (no output directory, no checkpoints), with the
    same encoding, heads, BERT optimizer and metrics. `freeze_backbone=True` trains only the
    new head on frozen features. Returns {"metrics", "history", "model", "steps"}.
    """
    import keras

    from bert_tf.train import optimization

    eval_enc, x, y, w = training_arrays(task, tokenizer, train_split, eval_split, max_length)
    n_train = len(x["token_ids"])
    if n_train == 0:
        raise DataError(f"no usable {task} training examples (all truncated away?)")
    steps = epochs * -(-n_train // batch_size)
    keras.utils.set_random_seed(seed)
    backbone.trainable = not freeze_backbone
    model = build_model(task, backbone, num_labels_of(task, train_split))
    model.compile(optimizer=optimization.create_optimizer(
        model, learning_rate=learning_rate, total_steps=steps, warmup_steps=steps // 10),
        jit_compile=jit_compile, **compile_args(task))
    with warnings.catch_warnings():  # the pooler gets no gradient in tag/span tasks: expected
        warnings.filterwarnings("ignore", message="Gradients do not exist for variables")
        history = model.fit(x, y, sample_weight=w, batch_size=batch_size, epochs=epochs,
                            verbose=verbose, shuffle=True)
    metrics = heldout_metrics(task, model, eval_enc, eval_split, batch_size=128)
    return {"metrics": metrics, "history": history.history, "model": model, "steps": steps}
