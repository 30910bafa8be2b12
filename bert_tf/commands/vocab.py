"""`bert-tf vocab`: text files -> a WordPiece vocab.txt for BertTokenizer."""

from __future__ import annotations

import argparse

from bert_tf.commands import int_at_least

HELP = "Train a WordPiece vocabulary (vocab.txt) from text files, split exactly as BertTokenizer splits."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input", nargs="+", required=True, metavar="FILE", help="UTF-8 text files"
    )
    parser.add_argument(
        "--vocab-size",
        type=int_at_least(1),
        required=True,
        metavar="N",
        help="largest vocabulary size (the learner lands within 5%% below it)",
    )
    parser.add_argument(
        "--output", required=True, metavar="PATH", help="vocab.txt to write (atomically)"
    )
    parser.add_argument(
        "--cased",
        action="store_true",
        help="keep case and accents (default: lowercase and strip accents, like uncased BERT)",
    )
    parser.add_argument(
        "--num-unused",
        type=int_at_least(0),
        default=100,
        metavar="N",
        help="[unusedN] slots reserved after [PAD] [UNK] [CLS] [SEP] [MASK] (default 100)",
    )
    parser.add_argument(
        "--max-unique-chars",
        type=int_at_least(1),
        default=1000,
        metavar="N",
        help="alphabet size: the N most frequent characters (default 1000; raise it for CJK)",
    )
    parser.add_argument(
        "--min-count",
        type=int_at_least(1),
        default=10,
        metavar="N",
        help="lowest wordpiece frequency the learner may accept (default 10)",
    )


def run(args) -> int:
    import os
    import time

    from bert_tf.cli import UserError

    for path in args.input:
        if not os.path.isfile(path):
            raise UserError(f"{path}: no such file")
    reserved = 5 + args.num_unused
    if args.vocab_size <= reserved:
        raise UserError(
            f"--vocab-size {args.vocab_size} leaves no room next to {reserved} reserved tokens"
        )

    from bert_tf.errors import DataError
    from bert_tf.text.vocab import train_vocab

    start = time.perf_counter()
    try:
        vocab = train_vocab(
            args.input,
            args.vocab_size,
            output=args.output,
            lowercase=not args.cased,
            num_unused=args.num_unused,
            max_unique_chars=args.max_unique_chars,
            min_count=args.min_count,
        )
    except DataError as err:
        raise UserError(str(err)) from None
    print(
        f"wrote {args.output}: {len(vocab):,} tokens ({reserved} reserved, "
        f"{'cased' if args.cased else 'uncased'}) in {time.perf_counter() - start:.1f} s"
    )
    return 0
