"""The child process that runs one submitted notebook and then its tests.

Started by `course.grading.runner` as ``python -m course.grading.worker ...``; never imported by
the grader itself, so a submission's code never runs in the instructor's Python process.

1. Limits first: heap memory (RLIMIT_DATA, so one oversized allocation raises MemoryError in the
   cell that made it), then a capped stdout/stderr (a flood is cut, counted and reported).
2. The tests are loaded before any submitted code runs.
3. Every code cell runs in one IPython shell, like "Run All" in Jupyter, with a time limit per
   cell; a cell that raises or runs over is recorded and the next cell still runs (partial
   credit). The `grader.check` cells are skipped: the tests run once, at the end.
4. Every test case of every question runs against the notebook's variables, each with the same
   time limit. The result file is rewritten after each question, so a run killed from outside
   keeps the questions already graded.

The result is JSON (see `runner.WorkerResult`), written atomically to ``--result``.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import time

CHECK_CELL = re.compile(r"^\s*(grader\.(check|check_all|export)\(.*\)\s*)+$", re.DOTALL)


class CellTimeout(BaseException):
    """Raised in the running cell or test when it passes its time limit (BaseException, so a
    submission's `except Exception` does not swallow it)."""


class CappedStream:
    """A text stream that passes the first `cap` bytes to `target` and counts the rest."""

    def __init__(self, target, cap: int, counter: dict):
        self.target, self.cap, self.counter = target, cap, counter

    def write(self, text):
        if not isinstance(text, str):
            text = str(text)
        data = text.encode("utf-8", "replace")
        room = self.cap - self.counter["written"]
        self.counter["total"] += len(data)
        if room > 0:
            chunk = data[:room]
            self.counter["written"] += len(chunk)
            self.target.write(chunk.decode("utf-8", "ignore"))
            self.target.flush()
        return len(text)

    def flush(self):
        self.target.flush()

    def isatty(self):
        return False

    def fileno(self):
        return self.target.fileno()

    @property
    def encoding(self):
        return "utf-8"


def set_memory_limit(megabytes: int) -> str | None:
    """Cap heap memory (private writable mappings) at `megabytes`; the reason if impossible."""
    try:
        import resource
    except ImportError:
        return "no memory limit on this platform"
    limit = megabytes * 2**20
    for name in ("RLIMIT_DATA", "RLIMIT_AS"):  # macOS ignores RLIMIT_DATA for mmap
        if hasattr(resource, name) and (name == "RLIMIT_DATA" or sys.platform == "darwin"):
            _, hard = resource.getrlimit(getattr(resource, name))
            soft = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
            try:
                resource.setrlimit(getattr(resource, name), (soft, hard))
            except (ValueError, OSError) as e:
                return f"could not set the memory limit: {e}"
    return None


def _alarm(seconds: float):
    if seconds:  # (re-)install the handler: a submission may have replaced it
        signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001) if seconds else 0.0)


def _on_alarm(signum, frame):
    raise CellTimeout()


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, CellTimeout):
        return "ran over the time limit"
    message = _one_line(str(exc), 200)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _natural(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m course.grading.worker")
    parser.add_argument("--notebook", required=True)
    parser.add_argument("--tests", required=True, help="folder of otter test files (qK.py)")
    parser.add_argument("--result", required=True)
    parser.add_argument("--cell-timeout", type=float, default=120.0)
    parser.add_argument("--memory-mb", type=int, default=4096)
    parser.add_argument("--output-cap", type=int, default=64 * 1024)
    args = parser.parse_args(argv)

    notes = []
    problem = set_memory_limit(args.memory_mb)
    if problem:
        notes.append(problem)
    counter = {"written": 0, "total": 0}
    sys.stdout = CappedStream(sys.__stdout__, args.output_cap, counter)
    sys.stderr = sys.stdout

    # Everything the worker needs is imported before any submitted code runs.
    import json

    import nbformat
    from IPython.core.interactiveshell import InteractiveShell
    from otter.test_files import ExceptionTestFile
    from traitlets.config import Config

    from bert_tf.io import write_atomic

    result = {"cells": [], "cell_seconds": [], "questions": {}, "notes": notes, "runtime_s": None,
              "tests_done": False}

    def save():
        result["output_bytes"] = counter["total"]
        write_atomic(args.result, json.dumps(result, indent=1))

    tests = []
    for name in sorted(os.listdir(args.tests), key=_natural):
        if name.endswith(".py"):
            tests.append(ExceptionTestFile.from_file(os.path.join(args.tests, name)))
    nb = nbformat.read(args.notebook, as_version=4)
    save()

    import otter

    otter.Notebook.init_grading_mode(args.tests)
    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "nocolor"  # tracebacks in logs and CSVs: plain text
    shell = InteractiveShell.instance(config=config)

    start = time.perf_counter()
    for number, cell in enumerate(nb.cells, 1):  # numbered as a reader counts them
        if cell.cell_type != "code":
            continue
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        if not source.strip() or CHECK_CELL.match(source):
            continue
        cell_start = time.perf_counter()
        error = None
        try:
            _alarm(args.cell_timeout)
            outcome = shell.run_cell(source, store_history=False)
            _alarm(0)
            error = outcome.error_before_exec or outcome.error_in_exec
        except CellTimeout as e:  # raised outside IPython's own handler
            error = e
        finally:
            _alarm(0)
        seconds = time.perf_counter() - cell_start
        result["cell_seconds"].append([number, round(seconds, 2)])
        if error is not None:
            first = next((line.strip() for line in source.splitlines()
                          if line.strip() and not line.strip().startswith("#")), "")
            result["cells"].append({"cell": number, "first_line": _one_line(first, 40),
                                    "seconds": round(seconds, 2),
                                    "timeout": isinstance(error, CellTimeout),
                                    "error": _describe(error)})
    result["runtime_s"] = round(time.perf_counter() - start, 2)
    save()

    env = shell.user_ns
    for test_file in tests:
        cases = []
        for case in test_file.test_cases:
            passed, message = True, ""
            try:
                _alarm(args.cell_timeout)
                case.body.call_func(env)
                _alarm(0)
            except CellTimeout:
                passed, message = False, f"ran over the {args.cell_timeout:g} s time limit"
            except BaseException as e:  # noqa: BLE001 - a test may end in anything
                passed, message = False, _describe(e)
            finally:
                _alarm(0)
            func = getattr(case.body, "test_func", None)
            cases.append({"name": getattr(func, "__name__", None) or case.name,
                          "hidden": bool(case.hidden),
                          "points": float(case.points), "passed": passed, "message": message})
        possible = sum(c["points"] for c in cases)
        score = sum(c["points"] for c in cases if c["passed"])
        if test_file.all_or_nothing and score < possible:
            score = 0.0
        result["questions"][test_file.name] = {"score": score, "possible": possible,
                                               "cases": cases}
        save()
    result["tests_done"] = True
    save()
    sys.__stdout__.flush()
    os._exit(0)  # threads a submission started must not keep the worker alive


if __name__ == "__main__":
    main()
