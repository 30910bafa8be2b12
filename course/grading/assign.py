"""Generate `exercises/` from `solutions/` with `otter assign`, and check nothing is stale.

Every `solutions/NN_name.ipynb` is an otter master notebook (see `solutions/README.md`). For each
one this writes

    exercises/NN_name.ipynb          the learner's notebook: solutions replaced by stubs, hidden
                                     tests removed, one `grader.check("qK")` cell per question
    exercises/tests/NN_name/qK.py    the public tests `grader.check` runs, offline

Hidden tests are never written to `exercises/`: the grader (`python -m course.grade`) builds the
full test set from the master notebook when it grades.

What `otter assign` leaves machine-dependent is made deterministic here, so that regenerating
leaves no diff: cell ids are numbered, outputs and execution counts are cleared, run-time cell
metadata is dropped, and otter's init cell is replaced by one that names the tests folder (which
Colab needs) and is placed after the Colab install cell (which must run first there).

    python -m course.grading.assign            # regenerate exercises/ from solutions/
    python -m course.grading.assign --check    # exit 1, listing the differences, if stale
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import io
import logging
import re
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
import yaml

from bert_tf.io import write_atomic

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS_DIR = ROOT / "solutions"
EXERCISES_DIR = ROOT / "exercises"
MASTER_PATTERN = re.compile(r"^\d\d_[A-Za-z0-9_]+\.ipynb$")
TESTS_SUBDIR = "tests"

# The assignment config every master notebook carries (validated, so a typo fails loudly).
REQUIRED_CONFIG = {
    "init_cell": True,
    "export_cell": False,
    "check_all_cell": False,
    "run_tests": False,
    "generate": False,
    "tests": {"files": True, "ok_format": False},
}
CONFIG_TEMPLATE = """\
# ASSIGNMENT CONFIG
name: {name}
init_cell: true
export_cell: false
check_all_cell: false
run_tests: false
generate: false
tests:
  files: true
  ok_format: false"""

INIT_CELL = '''\
# Initialize the self-checks: grader.check("q1") runs question 1's public tests, offline.
import otter

grader = otter.Notebook("{name}.ipynb", tests_dir="{tests}/{name}")'''

# Cell metadata that records a particular run or UI state, not content.
VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled", "jupyter", "ExecuteTime")


class AssignError(ValueError):
    """A master notebook that cannot be turned into an exercise; the message names the file."""


@dataclasses.dataclass
class Built:
    """One master notebook, assigned: the learner's notebook and both sets of tests."""

    name: str
    student: nbformat.NotebookNode
    public_tests: dict[str, str]  # file name (q1.py) -> source
    all_tests: dict[str, str]  # public and hidden

    def student_json(self) -> str:
        return nbformat.writes(self.student) + "\n"


def masters(solutions_dir: str | Path = SOLUTIONS_DIR) -> list[Path]:
    """The master notebooks, in chapter order: every `NN_*.ipynb` in `solutions_dir`."""
    solutions_dir = Path(solutions_dir)
    if not solutions_dir.is_dir():
        raise AssignError(f"{solutions_dir}: no such solutions folder")
    return sorted(p for p in solutions_dir.iterdir() if MASTER_PATTERN.match(p.name))


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def read_config(master: Path, nb=None) -> dict:
    """The master's ASSIGNMENT CONFIG, checked against the course conventions."""
    nb = nb if nb is not None else nbformat.read(master, as_version=4)
    configs = [c for c in nb.cells if c.cell_type == "raw"
               and re.match(r"#\s+assignment\s+config", _source(c), flags=re.IGNORECASE)]
    if len(configs) != 1:
        raise AssignError(f"{master}: needs exactly one raw '# ASSIGNMENT CONFIG' cell, found "
                          f"{len(configs)}; start from:\n{CONFIG_TEMPLATE.format(name=master.stem)}")
    try:
        config = yaml.safe_load(_source(configs[0])) or {}
    except yaml.YAMLError as e:
        raise AssignError(f"{master}: ASSIGNMENT CONFIG is not valid YAML: {e}") from None
    if config.get("name") != master.stem:
        raise AssignError(f"{master}: ASSIGNMENT CONFIG name must be the file's name "
                          f"{master.stem!r}, got {config.get('name')!r}")
    for key, want in REQUIRED_CONFIG.items():
        got = config.get(key)
        if isinstance(want, dict):
            got = {k: (got or {}).get(k) for k in want}
        if got != want:
            raise AssignError(f"{master}: ASSIGNMENT CONFIG needs {key}: {want}, got {got!r} "
                              f"(the course's format:\n{CONFIG_TEMPLATE.format(name=master.stem)})")
    return config


def _run_otter_assign(master: Path, out_dir: Path) -> None:
    from otter.assign import main as otter_assign

    otter_log = logging.getLogger("otter")
    level = otter_log.level
    otter_log.setLevel(logging.ERROR)
    sink = io.StringIO()
    # otter assign leaves a temporary copy of the tests behind (tempfile.mkdtemp); keep it
    # inside our own temporary folder, which is removed afterwards.
    saved_tempdir, tempfile.tempdir = tempfile.tempdir, str(out_dir.parent)
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            otter_assign(str(master), str(out_dir), no_pdfs=True, no_run_tests=True)
    except Exception as e:  # otter's own messages name the cell; add the file
        raise AssignError(f"{master}: otter assign failed: {type(e).__name__}: {e}") from None
    finally:
        tempfile.tempdir = saved_tempdir
        otter_log.setLevel(level)


def _read_tests(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.py"))}


def _normalise(nb: nbformat.NotebookNode, master_nb: nbformat.NotebookNode,
               name: str) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    cells = [c for c in nb.cells if not _source(c).startswith("# Initialize Otter")]
    init = nbformat.v4.new_code_cell(INIT_CELL.format(name=name, tests=TESTS_SUBDIR))
    init.metadata = {"deletable": False, "editable": False}
    # After the Colab install cell (otter must be installed there before it is imported).
    colab = [i for i, c in enumerate(cells)
             if c.cell_type == "code" and "google.colab" in _source(c)]
    cells.insert(colab[0] + 1 if colab else 0, init)
    for i, cell in enumerate(cells):
        cell["id"] = f"{name[:2]}-{i:03d}"
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if "attachments" in cell and not cell["attachments"]:
            del cell["attachments"]
    nb.cells = cells
    nb.metadata = {k: copy.deepcopy(v) for k, v in master_nb.metadata.items()
                   if k in ("kernelspec", "language_info")}
    nb.metadata["otter"] = {"assignment_name": name}
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nb


def build(master: str | Path) -> Built:
    """Run `otter assign` on one master notebook (in a temporary folder) and collect the result."""
    master = Path(master).resolve()
    try:
        master_nb = nbformat.read(master, as_version=4)
    except Exception as e:
        raise AssignError(f"{master}: not a readable notebook: {e}") from None
    read_config(master, master_nb)
    with tempfile.TemporaryDirectory(prefix="course-assign-") as tmp:
        out = Path(tmp) / "dist"
        _run_otter_assign(master, out)
        student = nbformat.read(out / "student" / master.name, as_version=4)
        public = _read_tests(out / "student" / "tests")
        everything = _read_tests(out / "autograder" / "tests")
    if not everything:
        raise AssignError(f"{master}: no autograded questions (no '# BEGIN TESTS' blocks)")
    return Built(master.stem, _normalise(student, master_nb, master.stem), public, everything)


def expected_files(built: list[Built]) -> dict[str, str]:
    """Relative path in `exercises/` -> content, for everything generated."""
    files = {}
    for b in built:
        files[f"{b.name}.ipynb"] = b.student_json()
        for fname, text in b.public_tests.items():
            files[f"{TESTS_SUBDIR}/{b.name}/{fname}"] = text
    return files


def _generated_now(exercises_dir: Path) -> set[str]:
    """Files in `exercises/` that the generator owns (hand-written README etc. are not)."""
    found = {p.name for p in exercises_dir.glob("*.ipynb") if MASTER_PATTERN.match(p.name)}
    tests = exercises_dir / TESTS_SUBDIR
    if tests.is_dir():
        found |= {p.relative_to(exercises_dir).as_posix() for p in tests.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts}
    return found


def differences(solutions_dir=SOLUTIONS_DIR, exercises_dir=EXERCISES_DIR,
                built: list[Built] | None = None) -> list[str]:
    """What regenerating would change, one line per file; empty when `exercises/` is current.
    `built` saves assigning the masters again when the caller already has them."""
    exercises_dir = Path(exercises_dir)
    if built is None:
        built = [build(m) for m in masters(solutions_dir)]
    want = expected_files(built)
    have = _generated_now(exercises_dir) if exercises_dir.is_dir() else set()
    out = []
    for rel in sorted(set(want) | have):
        path = exercises_dir / rel
        if rel not in want:
            out.append(f"{path}: stale (no master notebook in {solutions_dir} generates it)")
        elif rel not in have:
            out.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != want[rel]:
            out.append(f"{path}: differs from what {solutions_dir} generates")
    return out


def generate(solutions_dir=SOLUTIONS_DIR, exercises_dir=EXERCISES_DIR) -> list[Path]:
    """Write every exercise notebook and its public tests; remove generated files that are stale."""
    exercises_dir = Path(exercises_dir)
    want = expected_files([build(m) for m in masters(solutions_dir)])
    written = []
    for rel, text in want.items():
        path = exercises_dir / rel
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            write_atomic(path, text)
            written.append(path)
    for rel in _generated_now(exercises_dir) - set(want):
        (exercises_dir / rel).unlink()
        written.append(exercises_dir / rel)
    tests = exercises_dir / TESTS_SUBDIR
    if tests.is_dir():
        for folder in sorted(tests.iterdir(), reverse=True):
            if folder.is_dir() and not any(folder.iterdir()):
                shutil.rmtree(folder)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course.grading.assign",
        description="Generate exercises/ (stubs + public tests) from the otter master notebooks "
                    "in solutions/.")
    parser.add_argument("--solutions", default=str(SOLUTIONS_DIR), help="master notebooks")
    parser.add_argument("--exercises", default=str(EXERCISES_DIR), help="output folder")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 and list the files that would change")
    args = parser.parse_args(argv)
    try:
        if args.check:
            diff = differences(args.solutions, args.exercises)
            for line in diff:
                print(line)
            if diff:
                print("exercises/ is stale: run `python -m course.grading.assign` (or "
                      "`make exercises`)", file=sys.stderr)
                return 1
            print(f"exercises/ is up to date with {len(masters(args.solutions))} master notebooks")
            return 0
        written = generate(args.solutions, args.exercises)
    except AssignError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}" if path.exists() else f"removed {path}")
    print(f"exercises/ is up to date ({len(written)} files changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["AssignError", "Built", "build", "differences", "generate", "masters", "read_config"]
