"""`bert-tf pretrain` end to end in subprocesses: metrics.json, kill -9 + --resume, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env(**extra):
    env = dict(os.environ)
    env.update({"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": REPO, "KERAS_BACKEND": "tensorflow"})
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def _cli(*args):
    return [sys.executable, "-m", "bert_tf", "pretrain", *map(str, args)]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Small real pretraining data: 30 Wikipedia articles, 2 shards, sequences of 32."""
    from bert_tf.data.corpora import wikipedia_sample_documents, write_pretraining_text
    from bert_tf.data.pretraining import Settings, create_pretraining_data
    from bert_tf.train.pretrain import default_vocab

    root = tmp_path_factory.mktemp("ptdata")
    write_pretraining_text(wikipedia_sample_documents()[:30], root / "wiki.txt")
    settings = Settings(max_seq_length=32, max_predictions_per_seq=5, dupe_factor=1,
                        num_shards=2, seed=1)
    create_pretraining_data([str(root / "wiki.txt")], default_vocab(), str(root / "data"),
                            settings)
    return root / "data"


def _common(data, out, steps):
    return ["--data", data, "--preset", "tiny", "--steps", steps, "--batch-size", 8,
            "--max-seq-length", 32, "--output", out, "--checkpoint-every", 10,
            "--learning-rate", "1e-3", "--warmup-steps", 2, "--eval-batches", 4, "--quiet",
            "--strategy", "cpu"]


def _log(out):
    with open(os.path.join(out, "train_log.jsonl")) as f:
        return [json.loads(line) for line in f]


@pytest.mark.slow
def test_kill_dash_nine_then_resume_ends_at_requested_step(data, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(_cli(*_common(data, out, 40)), env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first_ckpt = out / "checkpoints" / "ckpt-00000010"
    deadline = time.time() + 240
    try:
        while not first_ckpt.exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, err[-2000:]
    before = _log(out)
    killed_at = before[-1]["step"]
    assert 10 <= killed_at < 40, "the run ended before it could be killed mid-way"
    assert not (out / "metrics.json").exists()

    p = subprocess.run(_cli(*_common(data, out, 40), "--resume"), env=_env(),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    m = json.loads((out / "metrics.json").read_text())
    resumed = m["resumed_from_step"]
    assert resumed % 10 == 0 and 10 <= resumed <= killed_at
    assert m["step"] == 40
    for key in ("loss", "mlm_accuracy", "nsp_accuracy", "mlm_loss", "nsp_loss",
                "mlm_most_frequent_token_accuracy", "nsp_majority_accuracy"):
        assert isinstance(m[key], float), key
    assert 0.0 <= m["mlm_accuracy"] <= 1.0 and 0.0 <= m["nsp_accuracy"] <= 1.0
    assert m["steps_this_run"] == 40 - resumed
    after = _log(out)[len(before):]
    assert [r["step"] for r in after] == list(range(resumed + 1, 41))
    # The loss continues where it left off. Logged losses are Keras running means since the
    # last checkpoint, so the first resumed step is compared with the mean of the interval
    # before the checkpoint it resumed from: not above it, and far below the untrained loss.
    by_step = {r["step"]: r["loss"] for r in before}
    start_loss = by_step[1]
    cont = after[0]["loss"]
    assert cont < by_step[resumed] + 0.1
    assert cont < start_loss - 0.3
    # the learning-rate schedule continues from the restored step (warmup 2, linear decay)
    from bert_tf.train.optimization import BertSchedule

    schedule = BertSchedule(1e-3, total_steps=40, warmup_steps=2)
    for r in after[:3]:
        assert r["next_lr"] == pytest.approx(float(schedule(r["step"])), rel=1e-5)
    # checkpoints: the last three kept (keep default 3), final one at step 40
    ckpts = sorted(os.listdir(out / "checkpoints"))
    assert ckpts == ["ckpt-00000020", "ckpt-00000030", "ckpt-00000040"]
    # the exported model loads with its MLM/NSP heads
    assert (out / "model" / "model.safetensors").exists() and (out / "model" / "vocab.txt").exists()
    # TensorBoard event files, from both the killed and the resumed run
    events = list((out / "logs").rglob("events.out.tfevents.*"))
    assert events, "no TensorBoard event files under logs/"

    # resuming a finished run does nothing and still reports the final step
    again = subprocess.run(_cli(*_common(data, out, 40), "--resume"), env=_env(),
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads((out / "metrics.json").read_text())["step"] == 40

    # a checkpoint of another config is refused with one line
    bad = subprocess.run(_cli(*_common(data, out, 50), "--resume", "--preset", "mini"),
                         env=_env(), capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2
    line = bad.stderr.strip().splitlines()[-1]
    assert line.startswith("bert-tf pretrain: error:") and "another model config" in line
    assert "num_layers: checkpoint 2 vs requested 4" in line


def test_wrong_format_data_dir_is_a_one_line_error(tmp_path):
    d = tmp_path / "notdata"
    d.mkdir()
    (d / "part-0.tfrecord").write_bytes(b"this is not a tfrecord file at all")
    p = subprocess.run(_cli("--data", d, "--steps", 2, "--output", tmp_path / "o",
                            "--strategy", "cpu"),
                       env=_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 2, p.stderr[-2000:]
    line = p.stderr.strip().splitlines()[-1]
    assert line.startswith("bert-tf pretrain: error:") and "part-0.tfrecord" in line
    empty = tmp_path / "empty"
    empty.mkdir()
    p = subprocess.run(_cli("--data", empty, "--steps", 2, "--output", tmp_path / "o2"),
                       env=_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 2
    assert "no manifest.json and no *.tfrecord files" in p.stderr.strip().splitlines()[-1]


def test_jax_two_devices_refuse_odd_batch(data, tmp_path):
    env = _env(KERAS_BACKEND="jax", XLA_FLAGS="--xla_force_host_platform_device_count=2",
               JAX_PLATFORMS="cpu")
    p = subprocess.run(_cli("--data", data, "--steps", 2, "--batch-size", 7, "--output",
                            tmp_path / "o", "--max-seq-length", 32),
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 2, p.stderr[-2000:]
    assert "DataParallel over 2 CPU device(s)" in p.stderr
    assert p.stderr.strip().splitlines()[-1] == (
        "bert-tf pretrain: error: batch size 7 is not divisible by the 2 replicas of strategy "
        "'data_parallel'; use a multiple of 2")
