"""One call at the top of every chapter: seeds, determinism, quiet logs, readable plots."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import warnings


@contextlib.contextmanager
def native_stderr_silenced():
    """Point the process's file descriptor 2 at /dev/null for a moment.

    TensorFlow's C++ start-up lines (oneDNN, CUDA probing) are written by absl before any
    Python logging exists, so neither `TF_CPP_MIN_LOG_LEVEL` nor `warnings` hides them.
    """
    try:
        fd = sys.__stderr__.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.__stderr__.flush()
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def setup(seed: int = 0, deterministic: bool = True) -> None:
    """Make a notebook's results repeatable and its outputs free of start-up noise.

    Seeds Python, NumPy and the Keras backend; on TensorFlow also turns on op determinism
    (same numbers on every run of the same machine, at a small speed cost) and spares Keras'
    array inputs a tf.data stall (`arrays_without_tfdata_autotune`).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    logging.getLogger("absl").setLevel(logging.ERROR)

    with native_stderr_silenced():
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.constant(0.0) + 1.0  # the first op initialises devices, which logs too

    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":

        tf.get_logger().setLevel(logging.ERROR)
        if deterministic:
            tf.config.experimental.enable_op_determinism()
        arrays_without_tfdata_autotune()
    _style_plots()


def arrays_without_tfdata_autotune() -> bool:
    """Feed numpy arrays to Keras `fit` / `evaluate` / `predict` without tf.data autotuning.

    On the TensorFlow backend Keras wraps arrays in a tf.data pipeline, and with TensorFlow
    2.21 an autotuned pipeline can make the call that owns it return up to its own length
    late, at random (see `bert_tf.data.pipeline.without_autotune`). Chapter 07 (twelve
    fine-tuning runs), three back-to-back pairs of runs without / with this switch: 167 / 153 s,
    204 / 185 s and 263 / 219 s. Only these array pipelines are changed; the batches and their
    order are not (tests/test_course_notebook.py checks both). Returns whether the switch is
    in place.
    """
    try:
        import tensorflow  # noqa: F401  (the switch is for the TensorFlow backend's tf.data)
        from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter
    except ImportError:  # another backend without TensorFlow, or a Keras that moved it
        return False
    from bert_tf.data.pipeline import without_autotune

    original = ArrayDataAdapter.get_tf_dataset
    if getattr(original, "_without_autotune", False):
        return True

    @functools.wraps(original)
    def get_tf_dataset(self):
        return without_autotune(original(self))

    get_tf_dataset._without_autotune = True
    ArrayDataAdapter.get_tf_dataset = get_tf_dataset
    return True


def _style_plots() -> None:
    try:
        import matplotlib as mpl
    except ImportError:
        return
    mpl.rcParams.update({
        "figure.figsize": (7, 4),
        "figure.dpi": 100,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
    })


def shell(command: str, check: bool = True) -> int:
    """Run a shell command from a notebook, printing its output (like `!command`).

    IPython's `!` forks the Python process itself; with JAX loaded (TensorFlow imports it when
    installed) that triggers a fork warning and can deadlock. `subprocess` execs in C instead.
    """
    import subprocess

    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    proc = subprocess.run(command, shell=True, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    print(proc.stdout, end="")
    if check and proc.returncode != 0:
        raise RuntimeError(f"command failed with exit status {proc.returncode}: {command}")
    return proc.returncode


def checkpoint(name: str) -> str:
    """Absolute path of a course checkpoint (`checkpoints/NAME` in the repository).

    Found next to the `course` package (a clone or an editable install) or, failing that,
    relative to a notebook running in `chapters/` or `exercises/`.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.path.join(os.path.dirname(here), "checkpoints", name),
                  os.path.join(os.getcwd(), os.pardir, "checkpoints", name)]
    for path in candidates:
        if os.path.isfile(os.path.join(path, "config.json")):
            return os.path.abspath(path)
    raise FileNotFoundError(
        f"course checkpoint {name!r} not found (looked in {', '.join(map(os.path.abspath, candidates))}); "
        "run the notebook from a clone of the course repository")
