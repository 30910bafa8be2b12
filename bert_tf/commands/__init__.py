"""Subcommands of `bert-tf`: one module each, discovered by `bert_tf.cli`."""

import argparse


def int_at_least(low: int):
    """An argparse `type=` for integers >= `low`, with a one-line error otherwise."""

    def parse(text: str) -> int:
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    parse.__name__ = "integer"  # argparse says "invalid integer value: 'x'" for non-numbers
    return parse


positive_int = int_at_least(1)
