"""Distribution strategies, checkpoints and kill-and-resume on a small real Keras model.

Each run happens in a subprocess (device layout and backend are fixed at import time), driven
by this same file: `python tests/test_train_distributed.py worker --mode ... --out DIR`.
The model is a two-headed (MLM-like, NSP-like) network trained with the real
`bert_tf.train` optimizer, losses, strategy selection and `fit_steps` loop.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # ~10 subprocesses that each import TensorFlow or JAX

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PY = sys.executable
V, S, P, GLOBAL_BATCH = 40, 8, 3, 16


# --------------------------------------------------------------------------------------
# worker (runs in the subprocess)
# --------------------------------------------------------------------------------------
def _worker(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--checkpoint-every", type=int, default=4)
    ap.add_argument("--batch", type=int, default=GLOBAL_BATCH)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--sleep", type=float, default=0.0)
    ap.add_argument("--steps-per-execution", type=int, default=1)
    ap.add_argument("--probe-batch", type=int, default=0,
                    help="also print the error for this (bad) global batch size")
    a = ap.parse_args(argv)

    if a.mode == "mirrored":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
    import keras

    from bert_tf.train import losses, optimization, strategy
    from bert_tf.train.loop import fit_steps

    name = {
        "single": "cpu",
        "mirrored": "mirrored",
        "multiworker": "multiworker",
        "jax-single": "cpu",
        "jax-dp": "auto",
    }[a.mode]
    try:
        placement = strategy.resolve(name)
        placement.check_batch_size(a.batch)
    except strategy.StrategyError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("strategy:", placement.description, flush=True)
    if a.probe_batch:
        try:
            placement.check_batch_size(a.probe_batch)
            print("probe: accepted", flush=True)
        except strategy.StrategyError as err:
            print(f"probe: {err}", flush=True)

    class TwoHeads(keras.Model):
        """Subclassed, like BertPretrainer, with an embedding that gathers with the ids as
        given (BertEmbeddings does; keras.layers.Embedding and functional models would cast
        float inputs back to int): every strategy must build it from integer batches."""

        def __init__(self):
            super().__init__()
            self.ffn = keras.layers.Dense(32, activation="gelu", name="ffn")
            self.ln = keras.layers.LayerNormalization(name="ln")
            self.mlm = keras.layers.Dense(V, name="mlm")
            self.nsp = keras.layers.Dense(2, name="nsp")

        def build(self, input_shape):
            self.table = self.add_weight((V, 16), initializer="uniform", name="embeddings")
            self.ffn.build((None, S, 16))
            self.ln.build((None, S, 32))
            self.mlm.build((None, P, 32))
            self.nsp.build((None, 32))

        def call(self, ids):
            h = self.ln(self.ffn(keras.ops.take(self.table, ids, axis=0)))
            return {"mlm": self.mlm(h[:, :P]), "nsp": self.nsp(keras.ops.mean(h, axis=1))}

    keras.utils.set_random_seed(0)
    with placement.scope():
        model = TwoHeads()
        model.build((None, S))
        opt = optimization.create_optimizer(
            model, learning_rate=3e-2, total_steps=a.steps, warmup_steps=2
        )
        model.compile(
            optimizer=opt, steps_per_execution=a.steps_per_execution, **losses.compile_args()
        )

    def make_dataset(start_step):
        import tensorflow as tf

        rng = np.random.default_rng(42)
        n = GLOBAL_BATCH * 64
        x = rng.integers(0, V, (n, S)).astype("int32")
        y = {
            "mlm": ((x[:, :P] * 7 + 3) % V).astype("int32"),
            "nsp": (x[:, 0] > x[:, 1]).astype("int32"),
        }
        # Padding predictions (weight 0) on every 4th example's last position: every replica's
        # share of a batch holds the same number of real predictions, so the per-replica
        # weighted means average to the global one (see bert_tf.train.losses).
        mw = np.ones((n, P), "float32")
        mw[::4, -1] = 0.0
        w = {"mlm": mw, "nsp": np.ones(n, "float32")}
        ds = tf.data.Dataset.from_tensor_slices((x, y, w)).repeat()
        ds = ds.skip(start_step * a.batch).batch(a.batch, drop_remainder=True)
        opts = tf.data.Options()
        opts.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return ds.with_options(opts)

    callbacks = []
    if a.sleep:

        class Slow(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                time.sleep(a.sleep)

        callbacks.append(Slow())

    # every worker reads checkpoints from the shared run directory; only the chief writes
    result = fit_steps(
        model,
        None,
        total_steps=a.steps,
        output_dir=a.out,
        checkpoint_every=a.checkpoint_every,
        keep=2,
        resume=a.resume,
        steps_per_execution=a.steps_per_execution,
        callbacks=callbacks,
        make_dataset=make_dataset,
        placement=placement,
        verbose=0,
    )
    ev = model.evaluate(make_dataset(0), steps=4, return_dict=True, verbose=0)
    if placement.is_chief:
        with open(os.path.join(a.out, "result.json"), "w") as f:
            json.dump(
                {
                    "replicas": placement.num_replicas,
                    "strategy": placement.description,
                    "resumed_from_step": result["resumed_from_step"],
                    "step": result["step"],
                    "eval": ev,
                    "kernel_sum": float(np.sum(np.asarray(model.get_layer("ffn").kernel.value))),
                },
                f,
            )
    return 0


# --------------------------------------------------------------------------------------
# helpers (test side)
# --------------------------------------------------------------------------------------
def _env(**extra):
    env = dict(os.environ)
    env.update({"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": REPO, "KERAS_BACKEND": "tensorflow"})
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def _run(mode, out, *args, env=None, timeout=240):
    cmd = [PY, os.path.abspath(__file__), "worker", "--mode", mode, "--out", str(out), *args]
    return subprocess.run(cmd, env=env or _env(), capture_output=True, text=True, timeout=timeout)


def _log(out):
    with open(os.path.join(out, "train_log.jsonl")) as f:
        return [json.loads(line) for line in f]


def _result(out):
    with open(os.path.join(out, "result.json")) as f:
        return json.load(f)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def single_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    p = _run("single", out)
    assert p.returncode == 0, p.stderr[-3000:]
    return out


# --------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------
def test_single_device_run_ends_at_step_and_keeps_last_checkpoints(single_run):
    log = _log(single_run)
    assert [r["step"] for r in log] == list(range(1, 13))
    assert log[-1]["loss"] < log[0]["loss"]
    ckpts = sorted(os.listdir(os.path.join(single_run, "checkpoints")))
    assert ckpts == ["ckpt-00000008", "ckpt-00000012"]  # keep=2
    assert _result(single_run)["step"] == 12


def test_mirrored_two_cpus_follows_single_device(single_run, tmp_path):
    p = _run("mirrored", tmp_path, "--probe-batch", "15")
    assert p.returncode == 0, p.stderr[-3000:]
    assert "MirroredStrategy over 2 CPU" in p.stdout
    # a global batch the 2 replicas cannot share is refused with a one-line reason
    assert "probe: batch size 15 is not divisible by the 2 replicas of strategy 'mirrored'" \
        in p.stdout
    assert _result(tmp_path)["replicas"] == 2
    a = np.array([r["loss"] for r in _log(single_run)])
    b = np.array([r["loss"] for r in _log(tmp_path)])
    assert len(a) == len(b) == 12
    print("mirrored vs single max |Δloss|:", np.max(np.abs(a - b)))
    np.testing.assert_allclose(b, a, rtol=2e-3, atol=2e-3)
    assert _result(tmp_path)["kernel_sum"] == pytest.approx(
        _result(single_run)["kernel_sum"], abs=2e-2
    )


def test_multiworker_two_processes_on_localhost(single_run, tmp_path):
    ports = [_free_port(), _free_port()]
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for i in range(2):
        env = _env(
            TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
        )
        cmd = [
            PY,
            os.path.abspath(__file__),
            "worker",
            "--mode",
            "multiworker",
            "--out",
            str(tmp_path),
        ]
        procs.append(
            subprocess.Popen(
                cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    outs = []
    try:
        for p in procs:
            outs.append(p.communicate(timeout=240))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_o, e) in zip(procs, outs, strict=True):
        assert p.returncode == 0, e[-3000:]
    assert "MultiWorkerMirroredStrategy: 2 worker(s), 2 replica(s)" in outs[0][0]
    a = np.array([r["loss"] for r in _log(single_run)])
    b = np.array([r["loss"] for r in _log(tmp_path)])
    print("multiworker vs single max |Δloss|:", np.max(np.abs(a - b)))
    np.testing.assert_allclose(b, a, rtol=2e-3, atol=2e-3)
    # only the chief wrote checkpoints into the shared output
    assert sorted(os.listdir(os.path.join(tmp_path, "checkpoints"))) == [
        "ckpt-00000008",
        "ckpt-00000012",
    ]


def test_jax_data_parallel_two_host_devices(tmp_path):
    jax_env = dict(
        KERAS_BACKEND="jax",
        XLA_FLAGS="--xla_force_host_platform_device_count=2",
        JAX_PLATFORMS="cpu",
    )
    p1 = _run("jax-single", tmp_path / "one", env=_env(**jax_env))
    assert p1.returncode == 0, p1.stderr[-3000:]
    p2 = _run("jax-dp", tmp_path / "two", env=_env(**jax_env))
    assert p2.returncode == 0, p2.stderr[-3000:]
    assert "DataParallel over 2 CPU device(s)" in p2.stdout
    a = np.array([r["loss"] for r in _log(tmp_path / "one")])
    b = np.array([r["loss"] for r in _log(tmp_path / "two")])
    print("jax DataParallel vs single max |Δloss|:", np.max(np.abs(a - b)))
    assert len(a) == len(b) == 12
    np.testing.assert_allclose(b, a, rtol=2e-3, atol=2e-3)


def test_kill_dash_nine_then_resume_ends_at_requested_step(single_run, tmp_path):
    cmd = [
        PY,
        os.path.abspath(__file__),
        "worker",
        "--mode",
        "single",
        "--out",
        str(tmp_path),
        "--sleep",
        "0.4",
    ]
    proc = subprocess.Popen(
        cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    ckpt = os.path.join(tmp_path, "checkpoints", "ckpt-00000004")
    deadline = time.time() + 180
    try:
        while not os.path.exists(ckpt) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # now between checkpoints
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    killed_at = _log(tmp_path)[-1]["step"]
    assert 4 <= killed_at < 12
    steps = sorted(os.listdir(os.path.join(tmp_path, "checkpoints")))
    assert steps and all(s.startswith("ckpt-") for s in steps)
    p = _run("single", tmp_path, "--resume")
    assert p.returncode == 0, p.stderr[-3000:]
    res = _result(tmp_path)
    assert res["step"] == 12
    resumed = res["resumed_from_step"]
    assert resumed in (4, 8) and resumed <= killed_at
    log = _log(tmp_path)
    after = [r for r in log if r["step"] > resumed][-(12 - resumed) :]
    assert [r["step"] for r in after] == list(range(resumed + 1, 13))
    # Same data, same state: the resumed run retraces the uninterrupted one.
    ref = {r["step"]: r["loss"] for r in _log(single_run)}
    for r in after:
        assert r["loss"] == pytest.approx(ref[r["step"]], rel=1e-3, abs=1e-3), r
    assert res["kernel_sum"] == pytest.approx(_result(single_run)["kernel_sum"], abs=1e-3)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        sys.exit(_worker(sys.argv[2:]))
