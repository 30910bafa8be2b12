"""`bert-tf create-data`: text files -> sharded TFRecord pretraining data (MLM + NSP)."""

from __future__ import annotations

import argparse
import os
import sys

from bert_tf.commands import positive_int

HELP = "Create MLM+NSP pretraining data (TFRecord shards in the original BERT format) from text files."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", nargs="+", required=True, metavar="FILE",
                        help="text files: one sentence per line, a blank line between documents")
    parser.add_argument("--vocab", required=True, help="WordPiece vocab.txt (with [PAD] [UNK] [CLS] [SEP] [MASK])")
    parser.add_argument("--output", required=True, metavar="DIR", help="output directory (shards + manifest.json)")
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--max-predictions-per-seq", type=int, default=20)
    parser.add_argument("--masked-lm-prob", type=float, default=0.15)
    parser.add_argument("--dupe-factor", type=positive_int, default=10,
                        help="passes over the corpus, each with different masks (default 10, as the original)")
    parser.add_argument("--short-seq-prob", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--whole-word-mask", action="store_true", help="mask whole words, not single wordpieces")
    parser.add_argument("--no-nsp", dest="nsp", action="store_false",
                        help="no next sentence prediction: RoBERTa FULL-SENTENCES packing, one segment")
    case = parser.add_mutually_exclusive_group()
    case.add_argument("--lowercase", dest="lowercase", action="store_true", default=True,
                      help="lowercase and strip accents (uncased vocab; the default)")
    case.add_argument("--cased", dest="lowercase", action="store_false", help="keep case and accents")
    parser.add_argument("--workers", type=positive_int, default=min(8, os.cpu_count() or 1),
                        help="processes (default: CPU cores, at most 8); output does not depend on it")
    parser.add_argument("--num-shards", type=positive_int, default=8)
    parser.add_argument("--chunk-mb", type=float, default=1.0,
                        help="text per chunk in MiB: the unit of parallel work and the window that "
                        "NSP random sentences are drawn from (default 1)")
    parser.add_argument("--errors", choices=("strict", "replace"), default="strict",
                        help="bytes that are not UTF-8: fail naming file and line (strict), or replace them")
    parser.add_argument("--max-line-bytes", type=positive_int, default=1 << 20,
                        help="longest line accepted (default 1 MiB): longer lines are an error")
    parser.add_argument("--overwrite", action="store_true", help="replace existing data in DIR")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def run(args: argparse.Namespace) -> int:
    from bert_tf.cli import UserError
    from bert_tf.data.pretraining import Settings, create_pretraining_data
    from bert_tf.errors import DataError

    settings = Settings(
        max_seq_length=args.max_seq_length,
        max_predictions_per_seq=args.max_predictions_per_seq,
        masked_lm_prob=args.masked_lm_prob,
        dupe_factor=args.dupe_factor,
        short_seq_prob=args.short_seq_prob,
        seed=args.seed,
        whole_word_mask=args.whole_word_mask,
        nsp=args.nsp,
        lowercase=args.lowercase,
        num_shards=args.num_shards,
        chunk_bytes=int(args.chunk_mb * (1 << 20)),
        errors=args.errors,
        max_line_bytes=args.max_line_bytes,
    )

    def log(msg: str) -> None:
        if not args.quiet:
            print(f"bert-tf create-data: {msg}", file=sys.stderr)

    try:
        manifest = create_pretraining_data(
            args.input, args.vocab, args.output, settings, workers=args.workers,
            overwrite=args.overwrite, progress=not args.quiet, log=log,
        )
    except DataError as err:
        raise UserError(str(err)) from None
    except OSError as err:
        raise UserError(f"{err.filename or args.output}: {err.strerror}") from None
    st = manifest["stats"]
    if manifest.get("reused"):
        log(f"{args.output} already holds complete data for these settings "
            f"({manifest['instances']:,} instances in {len(manifest['shards'])} shards); nothing to do")
        return 0
    n = max(1, st["instances"])
    log(
        f"wrote {st['instances']:,} instances to {len(manifest['shards'])} shards in {args.output} "
        f"({manifest['seconds']:.2f} s; {st['documents']:,} documents, {st['sentences']:,} sentences; "
        f"random next {st['random_next'] / n:.1%}, masked {st['masked'] / max(1, st['tokens']):.1%} of tokens)"
    )
    return 0
