"""`bert-tf finetune`: fine-tune a pretrained BERT and report held-out metrics."""

from __future__ import annotations

import argparse

from bert_tf.commands import positive_int

HELP = ("Fine-tune BERT (classify, pair, tag, span) on a course dataset or CSV/JSONL/CoNLL "
        "files; writes held-out metrics.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", required=True, choices=("classify", "pair", "tag", "span"))
    parser.add_argument("--init", required=True, metavar="CHECKPOINT",
                        help="pretrained checkpoint directory with vocab.txt (bert_tf, Hugging "
                        "Face, Google or keras-hub format), e.g. a pretrain run's model/")
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", help="course dataset, e.g. wnut16-ner-en, wiki-cloze-qa-en")
    src.add_argument("--train", metavar="FILE", help="training file (.csv/.tsv/.jsonl/.conll)")
    parser.add_argument("--eval", metavar="FILE", help="held-out file (with --train)")
    parser.add_argument("--output", required=True, metavar="DIR")
    parser.add_argument("--max-seq-length", type=positive_int, default=128)
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--epochs", type=positive_int, default=3)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--max-train-examples", type=positive_int)
    parser.add_argument("--max-eval-examples", type=positive_int)
    parser.add_argument("--strategy", default="auto",
                        choices=("auto", "cpu", "gpu", "mirrored", "multiworker", "tpu"))
    parser.add_argument("--mixed-precision", default="no", choices=("no", "bf16", "fp16"))
    parser.add_argument("--no-xla", dest="jit_compile", action="store_false", default="auto")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import json
    import os

    from bert_tf.cli import UserError
    from bert_tf.data.corpora import MissingPackageError
    from bert_tf.errors import BertTfError
    from bert_tf.train.finetune import FinetuneOptions, finetune
    from bert_tf.train.strategy import StrategyError

    opts = FinetuneOptions(
        task=args.task, init=args.init, output=args.output, dataset=args.dataset,
        train=args.train, eval=args.eval, max_seq_length=args.max_seq_length,
        batch_size=args.batch_size, epochs=args.epochs, learning_rate=args.learning_rate,
        strategy=args.strategy, mixed_precision=args.mixed_precision,
        jit_compile=args.jit_compile, resume=args.resume,
        max_train_examples=args.max_train_examples, max_eval_examples=args.max_eval_examples,
        seed=args.seed, verbose=0 if args.quiet else "auto",
    )
    try:
        metrics = finetune(opts)
    except (BertTfError, StrategyError, MissingPackageError) as err:
        raise UserError(str(err).strip().splitlines()[0]) from None
    except OSError as err:
        raise UserError(f"{err.filename or args.output}: {err.strerror}") from None
    print(json.dumps({k: v for k, v in metrics.items()
                      if isinstance(v, (int, float, str)) or v is None}))
    print(f"bert-tf finetune: wrote {os.path.join(args.output, 'metrics.json')}", flush=True)
    return 0
