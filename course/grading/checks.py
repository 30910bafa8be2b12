"""Small helpers for the exercises' tests (imported inside otter test functions).

    from course.grading.checks import random_inputs, without

    seed, rng = random_inputs()            # fresh inputs every run; the seed goes in messages
    with without("bert_tf.models.word2vec.keep_probabilities"):
        got = keep_probabilities(counts)   # the learner's own code, with the library's answer off
"""

from __future__ import annotations

import contextlib
import importlib
import secrets

import numpy as np


def random_inputs() -> tuple[int, np.random.Generator]:
    """A generator seeded from the operating system, and its seed (put it in failure messages,
    so a learner can reproduce what failed). Tests draw their inputs from it, so an answer
    hard-coded to the inputs of one run cannot pass the next."""
    seed = secrets.randbelow(2**32)
    return seed, np.random.default_rng(seed)


def _resolve(dotted: str):
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:-1]:
            owner = getattr(owner, name)
        return owner, parts[-1]
    raise ImportError(f"cannot import anything of {dotted!r}")


@contextlib.contextmanager
def without(*dotted_names: str):
    """Within the block, calling any of these library functions (or methods, e.g.
    ``"bert_tf.models.cnn.SmallCNN.freeze"``) fails with a message that asks the learner to write
    the code themselves. The originals are restored afterwards, whatever happens."""
    saved = []
    try:
        for dotted in dotted_names:
            owner, attr = _resolve(dotted)
            original = owner.__dict__.get(attr, getattr(owner, attr))

            def blocked(*args, _name=dotted, **kwargs):
                raise AssertionError(f"this exercise asks for your own code: the check switches "
                                     f"off {_name}, which your code called")

            setattr(owner, attr, blocked)
            saved.append((owner, attr, original))
        yield
    finally:
        for owner, attr, original in reversed(saved):
            setattr(owner, attr, original)
