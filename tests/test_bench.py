"""The benchmarks still run end to end, at tiny sizes (their timings are not checked here).

`bench/gpu_pretrain.py` is meant for a GPU this machine lacks, so this is the only place its
code path (JAX backend, numpy inputs, no TensorFlow import) is exercised before it meets one.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _run(script, *args, backend):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, str(BENCH / script), *args], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout.strip().splitlines()


@pytest.mark.slow
def test_train_step_bench_prints_the_ratio_line():
    lines = _run("train_step.py", "--preset", "tiny", "--batch", "4", "--steps", "3",
                 "--rounds", "1", backend="tensorflow")
    assert lines[-1].startswith("bert_tf/keras_hub speed ratio: ")
    assert float(lines[-1].rsplit(" ", 1)[1]) > 0
    assert any(line.startswith("matmul peak") for line in lines)


def test_gpu_pretrain_bench_runs_on_jax_without_tensorflow():
    pytest.importorskip("jax")
    lines = _run("gpu_pretrain.py", "--preset", "tiny", "--batch", "4", "--steps", "2",
                 "--warmup", "1", "--peak-tflops", "1", backend="jax")
    assert lines[-1] == "tensorflow imported: no"
    loss = float(next(line for line in lines if line.startswith("loss ")).split()[1].rstrip(";"))
    # Untrained: close to ln(vocab) + ln(2) = 10.33 + 0.69; a NaN or 0 means a broken step.
    assert 9.0 < loss < 13.0
