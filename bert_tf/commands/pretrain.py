"""`bert-tf pretrain`: MLM + NSP pretraining on CPU, GPU(s), several machines or a TPU."""

from __future__ import annotations

import argparse

from bert_tf.commands import positive_int

HELP = "Pretrain BERT (MLM + NSP) with Keras fit on cpu/gpu/mirrored/multiworker/tpu; resumable."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", nargs="+", metavar="DIR_OR_FILES",
                        help="create-data output directory, a glob or TFRecord files (default: "
                        "make data from the embedded English Wikipedia sample)")
    parser.add_argument("--eval-data", nargs="+", metavar="DIR_OR_FILES",
                        help="held-out data (default: the last shard of --data)")
    parser.add_argument("--vocab", help="vocab.txt (default: the data's manifest; bert-base-uncased "
                        "for the built-in Wikipedia data)")
    parser.add_argument("--preset", default="mini",
                        choices=("tiny", "mini", "small", "medium", "base", "large"))
    parser.add_argument("--steps", type=positive_int, required=True,
                        help="optimizer steps to reach (a resumed run stops at the same step)")
    parser.add_argument("--batch-size", type=positive_int, default=32,
                        help="global batch size, split over the replicas")
    parser.add_argument("--max-seq-length", type=positive_int, default=128)
    parser.add_argument("--max-predictions", type=positive_int, default=20,
                        help="masked positions per sequence when making the built-in data")
    parser.add_argument("--output", required=True, metavar="DIR",
                        help="run directory: checkpoints/, logs/, model/, metrics.json")
    parser.add_argument("--strategy", default="auto",
                        choices=("auto", "cpu", "gpu", "mirrored", "multiworker", "tpu"))
    parser.add_argument("--mixed-precision", default="no", choices=("no", "bf16", "fp16"))
    parser.add_argument("--optimizer", default="adamw", choices=("adamw", "lamb"))
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--warmup-steps", type=int, help="default: 10%% of --steps")
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--accumulation-steps", type=positive_int, default=1,
                        help="micro-batches summed into one update")
    parser.add_argument("--steps-per-execution", type=positive_int, default=1,
                        help="steps per compiled call (fewer host round trips; TPU: 100+)")
    parser.add_argument("--no-xla", dest="jit_compile", action="store_false", default="auto",
                        help="do not compile with XLA")
    parser.add_argument("--checkpoint-every", type=positive_int, default=500)
    parser.add_argument("--keep-checkpoints", type=positive_int, default=3)
    parser.add_argument("--resume", action="store_true",
                        help="continue from the latest checkpoint in --output")
    parser.add_argument("--eval-batches", type=positive_int, default=50)
    parser.add_argument("--dynamic-masking", action="store_true",
                        help="mask each batch afresh (RoBERTa) instead of the masks in the data")
    parser.add_argument("--dupe-factor", type=positive_int, default=5,
                        help="passes over the built-in Wikipedia sample when making its data")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import json
    import os

    from bert_tf.cli import UserError
    from bert_tf.data.corpora import MissingPackageError
    from bert_tf.errors import BertTfError
    from bert_tf.train.pretrain import PretrainOptions, pretrain
    from bert_tf.train.strategy import StrategyError

    def one(v):
        return v[0] if v and len(v) == 1 else v

    opts = PretrainOptions(
        output=args.output, data=one(args.data), eval_data=one(args.eval_data), vocab=args.vocab,
        preset=args.preset, steps=args.steps, batch_size=args.batch_size,
        max_seq_length=args.max_seq_length, max_predictions=args.max_predictions,
        learning_rate=args.learning_rate, warmup_steps=args.warmup_steps,
        optimizer=args.optimizer, weight_decay=args.weight_decay,
        accumulation_steps=args.accumulation_steps, strategy=args.strategy,
        mixed_precision=args.mixed_precision, jit_compile=args.jit_compile,
        steps_per_execution=args.steps_per_execution, checkpoint_every=args.checkpoint_every,
        keep_checkpoints=args.keep_checkpoints, resume=args.resume,
        eval_batches=args.eval_batches, dynamic_masking=args.dynamic_masking,
        seed=args.seed, dupe_factor=args.dupe_factor, verbose=0 if args.quiet else "auto",
    )
    try:
        metrics = pretrain(opts)
    except (BertTfError, StrategyError, MissingPackageError) as err:
        raise UserError(str(err).strip().splitlines()[0]) from None
    except OSError as err:
        raise UserError(f"{err.filename or args.output}: {err.strerror}") from None
    keys = ("step", "loss", "mlm_accuracy", "nsp_accuracy", "mlm_most_frequent_token_accuracy",
            "resumed_from_step", "steps_per_second")
    print(json.dumps({k: metrics.get(k) for k in keys}))
    if metrics.get("chief", True):
        print(f"bert-tf pretrain: wrote {os.path.join(args.output, 'metrics.json')} and "
              f"{os.path.join(args.output, 'model')}", flush=True)
    return 0
