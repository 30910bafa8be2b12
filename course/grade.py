"""Grade a class: a folder of submitted exercise notebooks → a CSV of per-question scores.

    python -m course.grade SUBMISSIONS --output scores.csv

Every file under SUBMISSIONS (a folder, searched recursively, or one file) gets one row:

    submission, exercise, status, q1, q2, ..., total, possible, runtime_s, reason

- The exercise is recognised from the notebook's metadata (otter writes the exercise name into
  every notebook it generates), else from the file name (``alice_03_elmo.ipynb``), else from
  ``--exercise``, which also overrides both.
- Each notebook runs in its own child process, never in this one, with a time limit per cell and
  per notebook, a memory limit and a cap on printed output (`course.grading.runner`). Then every
  public **and hidden** test of the exercise runs against it; hidden tests come from the master
  notebook in ``--solutions`` (default: this repository's ``solutions/``).
- A notebook that raises, runs forever, prints a flood, allocates too much memory, or is not a
  notebook at all (including a ``.zip`` without exactly one notebook inside) still gets a row: its
  score (questions it could not earn count 0) and the reason. The run itself does not stop.
- ``status`` is one of: graded, cell errors, cell timeout, time limit, memory limit, crashed,
  not a notebook, unknown exercise. ``runtime_s`` is the time its cells took.
- The CSV is written atomically (complete or not at all); ``--logs DIR`` also writes one text file
  per submission with every test's message and the first part of the notebook's output.

Exit status: 0 when the CSV is written, 2 on bad arguments (with a one-line error naming the file).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import dataclasses
import io
import re
import sys
import tempfile
import zipfile
from pathlib import Path

from bert_tf.io import write_atomic
from course.grading import assign
from course.grading.runner import Limits, Outcome, run_notebook

MAX_NOTEBOOK_BYTES = 50 * 2**20
SKIP_NAMES = {"__pycache__", ".ipynb_checkpoints", "__MACOSX"}
FIXED_COLUMNS = ["submission", "exercise", "status"]
TAIL_COLUMNS = ["total", "possible", "runtime_s", "reason"]


class GradeError(ValueError):
    """Bad input to the grader itself (not a bad submission)."""


@dataclasses.dataclass
class Submission:
    path: Path
    label: str  # the path as shown in the CSV (relative to SUBMISSIONS)
    exercise: str | None = None
    notebook: Path | None = None  # a readable notebook file, when it is one
    problem: str | None = None  # why it cannot run
    status: str | None = None


@dataclasses.dataclass
class Row:
    submission: Submission
    outcome: Outcome | None
    questions: dict[str, tuple[float, float]]  # name -> (score, possible)
    status: str
    reason: str
    runtime_s: float | None


def natural_key(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def collect(roots: list[Path], skip: tuple[Path, ...] = ()) -> list[Submission]:
    """Every file to grade: each root that is a file, and every file under each root folder
    (hidden files and folders, checkpoints and caches skipped, and the grader's own CSV and
    logs in `skip`, should they be inside)."""
    skip = tuple(p.resolve() for p in skip)
    files = []
    for root in roots:
        if not root.exists():
            raise GradeError(f"{root}: no such file or folder")
        if root.is_file():
            files.append(Submission(root, root.as_posix()))
            continue
        found = []
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if any(part.startswith(".") or part in SKIP_NAMES for part in rel.parts):
                continue
            if path.resolve() in skip or any(p in path.resolve().parents for p in skip):
                continue
            if path.is_file():
                found.append(Submission(path, rel.as_posix() if len(roots) == 1
                                        else (Path(root.name) / rel).as_posix()))
        if not found:
            raise GradeError(f"{root}: no files to grade")
        files += found
    return files


def _notebook_text(sub: Submission, scratch: Path) -> str | None:
    """The notebook's text, or None with `sub.problem` set."""
    path = sub.path
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            inside = [n for n in zf.namelist() if n.endswith(".ipynb")
                      and not any(p in SKIP_NAMES or p.startswith(".") for p in n.split("/"))]
            if len(inside) != 1:
                sub.problem = f"a zip file with {len(inside)} notebooks in it (need exactly one)"
                return None
            info = zf.getinfo(inside[0])
            if info.file_size > MAX_NOTEBOOK_BYTES:
                sub.problem = f"the notebook in the zip is over {MAX_NOTEBOOK_BYTES // 2**20} MB"
                return None
            data = zf.read(inside[0])
    else:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            sub.problem = f"over {MAX_NOTEBOOK_BYTES // 2**20} MB, too large for a notebook"
            return None
        data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        sub.problem = "not a notebook: not UTF-8 text"
        return None


def _parse(text: str):
    import nbformat

    nb = nbformat.reads(text, as_version=4)
    if not isinstance(nb.get("cells"), list):
        raise ValueError("no list of cells")
    for i, cell in enumerate(nb.cells, 1):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise ValueError(f"cell {i} is not a notebook cell")
        src = cell.get("source", "")
        if not isinstance(src, (str, list)):
            raise ValueError(f"cell {i} has no source text")
    return nb


def prepare(sub: Submission, known: list[str], forced: str | None, scratch: Path,
            index: int = 0) -> None:
    """Read and check one submission; find its exercise. Sets `notebook` or `problem`."""
    import nbformat

    def from_name() -> str | None:
        stem = sub.path.name
        hits = [name for name in known if name in stem]
        return max(hits, key=len) if hits else None

    text = _notebook_text(sub, scratch)
    nb = None
    if text is not None:
        try:
            nb = _parse(text)
        except Exception as e:  # noqa: BLE001 - any parse failure is the submission's problem
            message = " ".join(str(e).split())[:200] or type(e).__name__
            kind = "not a valid notebook" if sub.path.suffix == ".ipynb" else "not a notebook"
            sub.problem = f"{kind}: {message}"
    if forced:
        sub.exercise = forced
    else:
        meta = ((nb or {}).get("metadata") or {}).get("otter") or {}
        named = meta.get("assignment_name") if isinstance(meta, dict) else None
        sub.exercise = named if named in known else from_name()
    if sub.problem:
        sub.status = "not a notebook"
        return
    if sub.exercise is None:
        sub.status = "unknown exercise"
        sub.problem = ("cannot tell which exercise this is (no exercise name in its metadata or "
                       "file name); known: " + ", ".join(known) + "; pass --exercise")
        return
    target = scratch / "notebooks" / f"{index}.ipynb"
    nbformat.write(nb, target)
    sub.notebook = target


def build_tests(names: set[str], solutions: Path, scratch: Path) -> dict[str, Path]:
    """Public and hidden tests of each exercise, from its master notebook."""
    folders = {}
    for name in sorted(names):
        built = assign.build(solutions / f"{name}.ipynb")
        folder = scratch / "tests" / name
        folder.mkdir(parents=True)
        for fname, text in built.all_tests.items():
            (folder / fname).write_text(text, encoding="utf-8")
        folders[name] = folder
    return folders


def question_points(tests: Path) -> dict[str, float]:
    """Question name -> its points, read from the test files (for rows that could not run)."""
    from otter.test_files import ExceptionTestFile

    out = {}
    for path in sorted(tests.glob("*.py"), key=lambda p: natural_key(p.stem)):
        test_file = ExceptionTestFile.from_file(str(path))
        out[test_file.name] = float(sum(tc.points for tc in test_file.test_cases))
    return out


def grade_one(sub: Submission, tests: dict[str, Path], points: dict[str, dict[str, float]],
              limits: Limits) -> Row:
    blank = {q: (0.0, p) for q, p in points.get(sub.exercise, {}).items()}
    if sub.notebook is None:
        return Row(sub, None, blank, sub.status, sub.problem, None)
    outcome = run_notebook(sub.notebook, sub.exercise, tests[sub.exercise], limits)
    questions = dict(blank)
    for name, q in outcome.questions.items():
        questions[name] = (float(q["score"]), float(q["possible"]))
    return Row(sub, outcome, questions, outcome.status, " | ".join(outcome.reasons),
               outcome.runtime_s)


def _fmt(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def write_csv(rows: list[Row], path: Path) -> list[str]:
    names = sorted({q for r in rows for q in r.questions}, key=natural_key)
    header = FIXED_COLUMNS + names + TAIL_COLUMNS
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for r in rows:
        total = sum(s for s, _ in r.questions.values())
        possible = sum(p for _, p in r.questions.values())
        writer.writerow(
            [r.submission.label, r.submission.exercise or "", r.status]
            + [_fmt(r.questions[q][0]) if q in r.questions else "" for q in names]
            + [_fmt(total), _fmt(possible) if r.questions else "",
               "" if r.runtime_s is None else f"{r.runtime_s:.1f}", r.reason])
    write_atomic(path, buffer.getvalue())
    return header


def write_log(row: Row, folder: Path) -> None:
    lines = [f"submission: {row.submission.label}", f"exercise: {row.submission.exercise}",
             f"status: {row.status}", f"reason: {row.reason}", ""]
    if row.outcome is not None:
        for name, q in row.outcome.questions.items():
            lines.append(f"{name}: {_fmt(q['score'])} / {_fmt(q['possible'])}")
            for case in q["cases"]:
                mark = "pass" if case["passed"] else "FAIL"
                kind = " (hidden)" if case["hidden"] else ""
                lines.append(f"  {mark} {case['name']}{kind} {case['message']}".rstrip())
        slowest = sorted(row.outcome.cell_seconds, key=lambda c: -c[1])[:5]
        if slowest:
            lines.append("slowest cells: " + ", ".join(f"cell {n} {s:.1f} s" for n, s in slowest))
        lines += ["", f"output ({row.outcome.output_bytes} bytes printed, first part kept):",
                  row.outcome.output]
    safe = re.sub(r"[^A-Za-z0-9._-]+", "__", row.submission.label)
    write_atomic(folder / f"{safe}.log", "\n".join(lines) + "\n")


def grade(submissions: Path | list[Path], output: Path, solutions: Path = assign.SOLUTIONS_DIR,
          exercise: str | None = None, limits: Limits | None = None, jobs: int = 1,
          logs: Path | None = None, progress=print) -> list[Row]:
    limits = limits or Limits()
    known = [m.stem for m in assign.masters(solutions)]
    if not known:
        raise GradeError(f"{solutions}: no master notebooks (NN_*.ipynb)")
    if exercise is not None and exercise not in known:
        raise GradeError(f"--exercise {exercise}: not one of {', '.join(known)} in {solutions}")
    roots = [submissions] if isinstance(submissions, Path) else list(submissions)
    subs = collect(roots, skip=(output,) + ((logs,) if logs is not None else ()))
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp:
        scratch = Path(tmp)
        (scratch / "notebooks").mkdir()
        for index, sub in enumerate(subs):
            prepare(sub, known, exercise, scratch, index)
        needed = {s.exercise for s in subs if s.exercise}
        tests = build_tests(needed, solutions, scratch)
        points = {name: question_points(folder) for name, folder in tests.items()}
        rows: list[Row] = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(grade_one, s, tests, points, limits) for s in subs]
            for future in futures:
                row = future.result()
                rows.append(row)
                total = sum(s for s, _ in row.questions.values())
                possible = sum(p for _, p in row.questions.values())
                progress(f"{row.submission.label}: {_fmt(total)}/{_fmt(possible)} "
                         f"[{row.status}]" + (f" {row.reason[:160]}" if row.reason else ""))
        rows.sort(key=lambda r: natural_key(r.submission.label))
        write_csv(rows, output)
        if logs is not None:
            for row in rows:
                write_log(row, logs)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course.grade",
        description="Grade a folder of submitted exercise notebooks into a CSV of per-question "
                    "scores (public and hidden tests; each notebook in its own process, with "
                    "time, memory and output limits).")
    parser.add_argument("submissions", type=Path, nargs="+",
                        help="a folder of submissions (searched recursively), or files")
    parser.add_argument("--output", "-o", type=Path, default=Path("scores.csv"),
                        help="the CSV to write (default: scores.csv)")
    parser.add_argument("--solutions", type=Path, default=assign.SOLUTIONS_DIR,
                        help="the master notebooks with the hidden tests (default: %(default)s)")
    parser.add_argument("--exercise", help="grade every file as this exercise, e.g. 03_elmo")
    parser.add_argument("--timeout", type=float, default=Limits.timeout_s,
                        help="seconds for one whole notebook (default: %(default)g)")
    parser.add_argument("--cell-timeout", type=float, default=Limits.cell_timeout_s,
                        help="seconds for one cell or one test (default: %(default)g)")
    parser.add_argument("--memory-limit", type=int, default=Limits.memory_mb, metavar="MB",
                        help="heap memory for one notebook, in MB (default: %(default)s)")
    parser.add_argument("--output-cap", type=int, default=Limits.output_cap, metavar="BYTES",
                        help="printed output kept per notebook (default: %(default)s)")
    parser.add_argument("--jobs", "-j", type=int, default=1,
                        help="notebooks graded at once (default: 1)")
    parser.add_argument("--logs", type=Path, help="also write one .log file per submission here")
    args = parser.parse_args(argv)
    for flag, value in (("--timeout", args.timeout), ("--cell-timeout", args.cell_timeout),
                        ("--memory-limit", args.memory_limit), ("--output-cap", args.output_cap),
                        ("--jobs", args.jobs)):
        if value <= 0:
            print(f"error: {flag} must be positive, got {value}", file=sys.stderr)
            return 2
    limits = Limits(timeout_s=args.timeout, cell_timeout_s=args.cell_timeout,
                    memory_mb=args.memory_limit, output_cap=args.output_cap)
    try:
        rows = grade(args.submissions, args.output, args.solutions, args.exercise, limits,
                     args.jobs, args.logs)
    except (GradeError, assign.AssignError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.output}: {len(rows)} submissions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
