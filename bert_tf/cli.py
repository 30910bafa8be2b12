"""The `bert-tf` command line.

Each subcommand lives in its own module under `bert_tf/commands/` and exposes
`HELP` (one line), `add_arguments(parser)` and `run(args) -> int`. Importing a
command module must stay cheap (no TensorFlow at import time) so that
`bert-tf --help` answers instantly; heavy imports happen inside `run`.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import bert_tf
from bert_tf import commands


class UserError(Exception):
    """A problem with the user's input: printed as one line, exit status 2."""


def _command_modules():
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        yield info.name.replace("_", "-"), importlib.import_module(f"bert_tf.commands.{info.name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bert-tf",
        description="Pretrain and fine-tune BERT with Keras: vocabularies, pretraining data, "
        "MLM+NSP pretraining on CPU/GPU/TPU, fine-tuning, checkpoint conversion.",
    )
    parser.add_argument("--version", action="version", version=f"bert-tf {bert_tf.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in _command_modules():
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0
    try:
        return int(args._run(args) or 0)
    except UserError as err:
        print(f"bert-tf {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"bert-tf {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
