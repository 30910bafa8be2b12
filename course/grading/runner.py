"""Run one notebook and its tests in a child process, with limits, and say what happened.

`run_notebook` starts ``python -m course.grading.worker`` in a new process group, in a fresh
temporary folder, with stdin closed, and watches it:

- **time**: each cell and each test case has `cell_timeout_s` (the worker stops it and goes on
  with the next); the whole run has `timeout_s`, after which the process group is killed;
- **memory**: the worker caps its own heap at `memory_mb` (an oversized allocation raises
  MemoryError in that cell); the watchdog here kills the group if its resident memory passes
  `memory_mb` + `memory_slack_mb(memory_mb)` (what the heap cap cannot see: shared libraries, children);
- **output**: only the first `output_cap` bytes of what it prints are kept; the rest is counted.

Whatever happens, the result is an `Outcome` with a status and reasons; this never raises for
anything a submission does.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

POLL_S = 0.2


def memory_slack_mb(memory_mb: int) -> int:
    """How far resident memory may pass the heap limit before the watchdog stops a run."""
    return max(512, memory_mb // 4)


@dataclasses.dataclass
class Limits:
    timeout_s: float = 900.0  # a whole submission, wall clock
    cell_timeout_s: float = 300.0  # one cell, or one test case
    memory_mb: int = 4096  # heap memory of the notebook's process
    output_cap: int = 64 * 1024  # bytes of printed output kept


@dataclasses.dataclass
class Outcome:
    status: str  # graded | cell errors | cell timeout | time limit | memory limit | crashed
    questions: dict  # name -> {"score", "possible", "cases": [{name, hidden, points, passed, message}]}
    reasons: list[str]
    runtime_s: float | None = None  # the cells' own run time
    wall_s: float = 0.0  # including the worker's start-up and the tests
    output: str = ""  # the first output_cap bytes the notebook printed
    output_bytes: int = 0
    cell_seconds: list = dataclasses.field(default_factory=list)  # [cell number, seconds]

    @property
    def score(self) -> float:
        return sum(q["score"] for q in self.questions.values())


def _human(nbytes: int) -> str:
    for unit, size in (("MB", 2**20), ("KB", 2**10)):
        if nbytes >= size:
            return f"{nbytes / size:.1f} {unit}"
    return f"{nbytes} bytes"


def _group_rss_mb(pgid: int) -> float | None:
    """Resident memory of every process in the group (Linux /proc; psutil elsewhere)."""
    if os.path.isdir("/proc/self"):
        page = os.sysconf("SC_PAGE_SIZE")
        total = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
                fields = stat[stat.rindex(b")") + 2:].split()
                if int(fields[2]) != pgid:  # fields after the name: state, ppid, pgrp, ...
                    continue
                with open(f"/proc/{entry}/statm", "rb") as f:
                    total += int(f.read().split()[1]) * page
            except (OSError, ValueError, IndexError):
                continue
        return total / 2**20
    try:
        import psutil
    except ImportError:
        return None
    try:
        leader = psutil.Process(pgid)
        procs = [leader, *leader.children(recursive=True)]
        return sum(p.memory_info().rss for p in procs) / 2**20
    except psutil.Error:
        return None


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _reader(stream, cap: int, state: dict) -> None:
    while True:
        try:
            chunk = stream.read1(65536)
        except (OSError, ValueError):  # closed under us after a kill
            break
        if not chunk:
            break
        state["total"] += len(chunk)
        room = cap - len(state["kept"])
        if room > 0:
            state["kept"] += chunk[:room]


def summarise(outcome: Outcome, limits: Limits) -> list[str]:
    """Reasons for failed tests, one per question that lost points."""
    out = []
    for name, q in outcome.questions.items():
        failed = [c for c in q["cases"] if not c["passed"]]
        if failed:
            first = failed[0]
            label = "hidden test" if first["hidden"] else first["name"]
            out.append(f"{name}: {len(failed)} of {len(q['cases'])} tests failed "
                       f"({label}: {first['message'] or 'failed'})")
    return out


def run_notebook(notebook: str | Path, name: str, tests_dir: str | Path,
                 limits: Limits | None = None) -> Outcome:
    """Run `notebook` (already checked to be a notebook) as exercise `name` against the otter
    test files in `tests_dir`."""
    limits = limits or Limits()
    workdir = Path(tempfile.mkdtemp(prefix="course-grade-"))
    try:
        return _run(Path(notebook), name, Path(tests_dir).resolve(), limits, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run(notebook: Path, name: str, tests_dir: Path, limits: Limits, workdir: Path) -> Outcome:
    run_dir = workdir / "run"
    run_dir.mkdir()
    shutil.copyfile(notebook, run_dir / f"{name}.ipynb")  # where otter's init cell looks
    result_path = workdir / "result.json"
    env = dict(os.environ)
    env.update({
        "MPLBACKEND": "Agg",
        "PYTHONUNBUFFERED": "1",
        "PYTHONIOENCODING": "utf-8",
        "IPYTHONDIR": str(workdir / "ipython"),
        "TF_CPP_MIN_LOG_LEVEL": env.get("TF_CPP_MIN_LOG_LEVEL", "3"),
    })
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "") if env.get(
        "PYTHONPATH") else root
    command = [sys.executable, "-m", "course.grading.worker",
               "--notebook", str(run_dir / f"{name}.ipynb"), "--tests", str(tests_dir),
               "--result", str(result_path), "--cell-timeout", str(limits.cell_timeout_s),
               "--memory-mb", str(limits.memory_mb), "--output-cap", str(limits.output_cap)]
    start = time.monotonic()
    proc = subprocess.Popen(command, cwd=run_dir, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    state = {"kept": b"", "total": 0}
    reader = threading.Thread(target=_reader, args=(proc.stdout, limits.output_cap, state),
                              daemon=True)
    reader.start()
    killed = None
    peak_mb = 0.0
    try:
        while True:
            try:
                proc.wait(timeout=POLL_S)
                break
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() - start > limits.timeout_s:
                killed = "time"
                break
            rss = _group_rss_mb(proc.pid)
            if rss is not None:
                peak_mb = max(peak_mb, rss)
                if rss > limits.memory_mb + memory_slack_mb(limits.memory_mb):
                    killed = "memory"
                    break
    finally:
        _kill_group(proc.pid)  # the worker's children, too, once it has finished or been stopped
        proc.wait()
        reader.join(timeout=5)
        proc.stdout.close()
    wall = time.monotonic() - start

    result = None
    if result_path.is_file():
        try:
            result = json.loads(result_path.read_text(encoding="utf-8"))
        except ValueError:
            result = None

    output = state["kept"].decode("utf-8", "replace")
    printed = max(state["total"], (result or {}).get("output_bytes", 0))
    outcome = Outcome(status="graded", questions={}, reasons=[], wall_s=round(wall, 2),
                      output=output, output_bytes=printed)
    reasons = outcome.reasons
    if result is not None:
        outcome.questions = result.get("questions", {})
        outcome.runtime_s = result.get("runtime_s")
        outcome.cell_seconds = result.get("cell_seconds", [])
        reasons += result.get("notes", [])
        errors = result.get("cells", [])
        shown = errors[:3]
        for e in shown:
            where = f"cell {e['cell']}" + (f" ({e['first_line']})" if e.get("first_line") else "")
            if e.get("timeout"):
                reasons.append(f"{where} ran over the {limits.cell_timeout_s:g} s time limit "
                               "for one cell")
            else:
                hint = (f" (the memory limit is {limits.memory_mb} MB)"
                        if e["error"].startswith("MemoryError") else "")
                reasons.append(f"{where} raised {e['error']}{hint}")
        if len(errors) > len(shown):
            reasons.append(f"{len(errors) - len(shown)} more cells failed")
        if any(e.get("timeout") for e in errors):
            outcome.status = "cell timeout"
        elif errors:
            outcome.status = "cell errors"

    complete = result is not None and result.get("tests_done")
    if killed == "time":
        outcome.status = "time limit"
        reasons.insert(0, f"stopped after {limits.timeout_s:g} s, the time limit for a whole "
                          "notebook" + ("" if outcome.questions else "; no question was graded"))
    elif killed == "memory":
        outcome.status = "memory limit"
        ceiling = limits.memory_mb + memory_slack_mb(limits.memory_mb)
        reasons.insert(0, f"stopped: its resident memory passed {ceiling} MB")
    elif not complete:
        outcome.status = "crashed"
        rc = proc.returncode
        how = f"signal {-rc}" if rc is not None and rc < 0 else f"exit status {rc}"
        last = output.strip().splitlines()[-1:] if output.strip() else []
        reasons.insert(0, f"the notebook ended the grading process ({how}) before its tests "
                          "finished" + (f"; last output: {last[0][:200]}" if last else ""))
    if printed > limits.output_cap:
        reasons.append(f"printed {_human(printed)}; only the first {_human(limits.output_cap)} "
                       "were kept")
    reasons += summarise(outcome, limits)
    return outcome
