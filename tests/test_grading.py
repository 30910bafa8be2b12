"""The instructor's grader (`python -m course.grade`) and the exercise generator, on a small
exercise made here (no TensorFlow in its cells, so each submission runs in a couple of seconds).

Whatever a submission does, the run finishes and the CSV has a row for it with a score and a
reason: a correct notebook scores full marks, the blank exercise 0 on each question, and one that
raises, loops forever, prints 10 MB, allocates far too much memory, exits the process, or is not
a notebook at all is reported as such.
"""

from __future__ import annotations

import copy
import csv
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from course import grade
from course.grading import assign

ROOT = Path(__file__).resolve().parents[1]
NAME = "01_demo"

CONFIG = assign.CONFIG_TEMPLATE.format(name=NAME)
QUESTIONS = [  # name, function, body, hidden-test input
    ("q1", "square", "x * x", -3),
    ("q2", "cube", "x * x * x", -2),
]


def _master() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    cells = [nbformat.v4.new_raw_cell(CONFIG),
             nbformat.v4.new_code_cell('import sys\n\nif "google.colab" in sys.modules:\n'
                                       '    !pip install -q otter-grader'),
             nbformat.v4.new_markdown_cell("# A small exercise")]
    for q, fn, body, hidden_x in QUESTIONS:
        cells += [
            nbformat.v4.new_raw_cell(f"# BEGIN QUESTION\nname: {q}\npoints: 2"),
            nbformat.v4.new_markdown_cell(f"Write `{fn}(x)`."),
            nbformat.v4.new_raw_cell("# BEGIN SOLUTION"),
            nbformat.v4.new_code_cell(f"def {fn}(x):\n    # BEGIN SOLUTION\n    return {body}\n"
                                      "    # END SOLUTION"),
            nbformat.v4.new_raw_cell("# END SOLUTION"),
            nbformat.v4.new_raw_cell("# BEGIN TESTS"),
            nbformat.v4.new_code_cell(
                f"def test_{fn}({fn}):\n"
                "    from course.grading.checks import random_inputs\n"
                "    seed, rng = random_inputs()\n"
                "    x = int(rng.integers(2, 100))\n"
                f"    assert {fn}(x) == {body}, f'{fn}({{x}}) is wrong'"),
            nbformat.v4.new_code_cell(
                '""" # BEGIN TEST CONFIG\nhidden: true\n""" # END TEST CONFIG\n'
                f"def test_{fn}_negative({fn}):\n    x = {hidden_x}\n    assert {fn}(x) == {body}"),
            nbformat.v4.new_raw_cell("# END TESTS"),
            nbformat.v4.new_raw_cell("# END QUESTION"),
        ]
    nb.cells = cells
    return nb


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory) -> Path:
    """solutions/01_demo.ipynb and the exercises/ generated from it."""
    root = tmp_path_factory.mktemp("course")
    (root / "solutions").mkdir()
    nbformat.write(_master(), root / "solutions" / f"{NAME}.ipynb")
    written = assign.generate(root / "solutions", root / "exercises")
    assert {p.relative_to(root / "exercises").as_posix() for p in written} == {
        f"{NAME}.ipynb", f"tests/{NAME}/q1.py", f"tests/{NAME}/q2.py"}
    return root


def _exercise(course_dir: Path) -> nbformat.NotebookNode:
    return nbformat.read(course_dir / "exercises" / f"{NAME}.ipynb", as_version=4)


def _submission(course_dir, answers: dict[str, str], extra: str | None = None):
    nb = copy.deepcopy(_exercise(course_dir))
    for cell in nb.cells:
        for fn, code in answers.items():
            if cell.cell_type == "code" and cell.source.startswith(f"def {fn}("):
                cell.source = code
    if extra is not None:
        index = next(i for i, c in enumerate(nb.cells) if "otter.Notebook(" in c.source) + 1
        nb.cells.insert(index, nbformat.v4.new_code_cell(extra))
    return nb


GOOD = {"square": "def square(x):\n    return x ** 2", "cube": "def cube(x):\n    return x ** 3"}


# ------------------------------------------------------------------------------ the generator


def test_generated_exercise_has_stubs_checks_and_public_tests_only(course_dir):
    nb = _exercise(course_dir)
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    assert "google.colab" in sources[0], "the Colab install cell stays first"
    assert sources[1] == assign.INIT_CELL.format(name=NAME, tests="tests"), "then the init cell"
    assert "def square(x):\n    ..." in sources and "def cube(x):\n    ..." in sources
    assert 'grader.check("q1")' in sources and 'grader.check("q2")' in sources
    assert not any("return x" in s for s in sources), "solutions must not leak"
    assert nb.metadata["otter"] == {"assignment_name": NAME}
    assert [c["id"] for c in nb.cells] == [f"01-{i:03d}" for i in range(len(nb.cells))]
    public = (course_dir / "exercises" / "tests" / NAME / "q1.py").read_text()
    assert "test_square(" in public and "negative" not in public, "hidden tests stay out"
    built = assign.build(course_dir / "solutions" / f"{NAME}.ipynb")
    assert "test_square_negative" in built.all_tests["q1.py"]


def test_regenerating_is_byte_identical_and_stale_files_are_found(course_dir, tmp_path):
    assert assign.differences(course_dir / "solutions", course_dir / "exercises") == []
    copy_dir = tmp_path / "exercises"
    assign.generate(course_dir / "solutions", copy_dir)
    (copy_dir / f"{NAME}.ipynb").write_text("{}")
    (copy_dir / "tests" / NAME / "q9.py").write_text("")
    (copy_dir / "07_old.ipynb").write_text("{}")
    (copy_dir / "README.md").write_text("hand-written, not generated")
    diff = assign.differences(course_dir / "solutions", copy_dir)
    assert len(diff) == 3 and "differs" in diff[0] and all("stale" in d for d in diff[1:]), diff
    assign.generate(course_dir / "solutions", copy_dir)
    assert assign.differences(course_dir / "solutions", copy_dir) == []
    assert (copy_dir / "README.md").is_file()


def test_master_with_a_wrong_config_is_refused_naming_the_file(tmp_path):
    nb = _master()
    nb.cells[0].source = CONFIG.replace("ok_format: false", "ok_format: true")
    path = tmp_path / f"{NAME}.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(assign.AssignError, match=f"{path}.*ok_format"):
        assign.build(path)
    nb.cells[0].source = CONFIG.replace(f"name: {NAME}", "name: other")
    nbformat.write(nb, path)
    with pytest.raises(assign.AssignError, match=f"{path}.*name must be the file's name"):
        assign.build(path)


# ------------------------------------------------------------------------------ the grader


@pytest.fixture(scope="module")
def graded(course_dir, tmp_path_factory):
    """One grading run of a class with every kind of submission, through the command line."""
    subs = tmp_path_factory.mktemp("submissions")
    nbformat.write(_submission(course_dir, GOOD), subs / "good_01_demo.ipynb")
    nbformat.write(_exercise(course_dir), subs / "blank.ipynb")
    nbformat.write(_submission(course_dir, {**GOOD, "cube": "raise ValueError('boom')"}),
                   subs / "raises.ipynb")
    nbformat.write(_submission(course_dir, GOOD, "while True:\n    pass"), subs / "loops.ipynb")
    nbformat.write(_submission(course_dir, GOOD, "import signal\n"
                               "signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                               "while True:\n    pass"), subs / "loops_uninterruptibly.ipynb")
    nbformat.write(_submission(course_dir, GOOD, "for _ in range(10_000):\n"
                               "    print('x' * 1_000)"), subs / "floods.ipynb")
    nbformat.write(_submission(course_dir, GOOD, "import numpy as np\n"
                               "big = np.ones((100_000, 100_000))"), subs / "allocates.ipynb")
    nbformat.write(_submission(course_dir, GOOD, "import numpy as np\nhoard = []\n"
                               "while True:\n    hoard.append(np.empty(2**24))"),
                   subs / "hoards.ipynb")
    nbformat.write(_submission(course_dir, GOOD, "import mmap\n"
                               "shared = mmap.mmap(-1, 1536 * 2**20)\nchunk = b'x' * 2**23\n"
                               "for i in range(0, len(shared), 2**23):\n"
                               "    shared[i:i + 2**23] = chunk"), subs / "shares.ipynb")
    nbformat.write(_submission(course_dir, GOOD, "import os\nos._exit(3)"), subs / "exits.ipynb")
    (subs / "broken.ipynb").write_text('{"cells": [')
    (subs / "notes.txt").write_text("my answers are in my head")
    with zipfile.ZipFile(subs / "zipped.zip", "w") as zf:
        zf.writestr("submission/01_demo.ipynb",
                    nbformat.writes(_submission(course_dir, {"square": GOOD["square"]})))
    with zipfile.ZipFile(subs / "empty.zip", "w") as zf:
        zf.writestr("readme.txt", "no notebook here")
    stranger = _submission(course_dir, GOOD)
    stranger.metadata.pop("otter")
    nbformat.write(stranger, subs / "stranger.ipynb")

    out = tmp_path_factory.mktemp("out")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "course.grade", str(subs), "--output", str(out / "scores.csv"),
         "--solutions", str(course_dir / "solutions"), "--logs", str(out / "logs"),
         "--cell-timeout", "6", "--timeout", "20", "--memory-limit", "512",
         "--output-cap", "4096", "--jobs", "2"],
        capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    with open(out / "scores.csv", newline="", encoding="utf-8") as f:
        rows = {row["submission"]: row for row in csv.DictReader(f)}
    return rows, out, proc.stdout


def test_csv_has_one_row_per_file_with_per_question_columns(graded):
    rows, out, stdout = graded
    assert len(rows) == 15
    header = (out / "scores.csv").read_text().splitlines()[0]
    assert header == "submission,exercise,status,q1,q2,total,possible,runtime_s,reason"
    assert "wrote" in stdout and not list(out.glob(".*.tmp"))


def test_correct_submission_scores_full_marks(graded):
    row = graded[0]["good_01_demo.ipynb"]
    assert (row["exercise"], row["status"], row["q1"], row["q2"], row["total"],
            row["possible"]) == (NAME, "graded", "2", "2", "4", "4")
    assert row["reason"] == "" and float(row["runtime_s"]) < 10


def test_blank_exercise_scores_zero_on_each_question(graded):
    row = graded[0]["blank.ipynb"]
    assert (row["q1"], row["q2"], row["total"], row["possible"]) == ("0", "0", "0", "4")
    assert "q1: 2 of 2 tests failed" in row["reason"] and "q2: 2 of 2" in row["reason"]


def test_raising_cell_loses_only_its_question(graded):
    row = graded[0]["raises.ipynb"]
    assert (row["status"], row["q1"], row["q2"]) == ("cell errors", "2", "0")
    assert "raised ValueError: boom" in row["reason"]


def test_endless_loop_is_stopped_at_the_cell_time_limit(graded):
    row = graded[0]["loops.ipynb"]
    assert (row["status"], row["total"]) == ("cell timeout", "4")
    assert "ran over the 6 s time limit for one cell" in row["reason"]


def test_loop_that_ignores_the_alarm_is_killed_at_the_notebook_time_limit(graded):
    row = graded[0]["loops_uninterruptibly.ipynb"]
    assert (row["status"], row["total"], row["possible"]) == ("time limit", "0", "4")
    assert "stopped after 20 s" in row["reason"]


def test_output_flood_is_capped_and_reported(graded):
    rows, out, _ = graded
    row = rows["floods.ipynb"]
    assert (row["status"], row["total"]) == ("graded", "4")
    assert "printed 9.5 MB; only the first 4.0 KB were kept" in row["reason"]
    log = (out / "logs" / "floods.ipynb.log").read_text()
    assert len(log) < 20_000


def test_too_much_memory_raises_memory_error_in_that_cell(graded):
    row = graded[0]["allocates.ipynb"]
    assert (row["status"], row["total"]) == ("cell errors", "4")
    assert "raised MemoryError" in row["reason"] and "memory limit is 512 MB" in row["reason"]
    row = graded[0]["hoards.ipynb"]
    assert (row["status"], row["total"]) == ("cell errors", "4")
    assert "MemoryError" in row["reason"]


def test_memory_the_heap_limit_cannot_see_is_stopped_by_the_watchdog(graded):
    row = graded[0]["shares.ipynb"]
    assert (row["status"], row["total"], row["possible"]) == ("memory limit", "0", "4")
    assert "resident memory passed 1024 MB" in row["reason"]


def test_process_exit_is_reported_as_a_crash(graded):
    row = graded[0]["exits.ipynb"]
    assert (row["status"], row["total"], row["possible"]) == ("crashed", "0", "4")
    assert "exit status 3" in row["reason"]


def test_files_that_are_not_notebooks_get_a_row(graded):
    rows = graded[0]
    assert rows["broken.ipynb"]["status"] == "not a notebook"
    assert rows["broken.ipynb"]["reason"].startswith("not a valid notebook:")
    assert rows["notes.txt"]["reason"].startswith("not a notebook:")
    assert rows["notes.txt"]["total"] == "0"
    assert rows["empty.zip"]["reason"] == "a zip file with 0 notebooks in it (need exactly one)"


def test_zipped_notebook_is_graded(graded):
    row = graded[0]["zipped.zip"]
    assert (row["exercise"], row["q1"], row["q2"], row["total"]) == (NAME, "2", "0", "2")


def test_exercise_is_recognised_from_the_file_name_or_not_at_all(graded):
    row = graded[0]["stranger.ipynb"]
    assert (row["status"], row["exercise"], row["total"]) == ("unknown exercise", "", "0")
    assert "pass --exercise" in row["reason"]


def test_logs_give_every_test_and_the_output(graded):
    log = (graded[1] / "logs" / "raises.ipynb.log").read_text()
    assert "pass test_square" in log and "FAIL test_cube_negative (hidden)" in log
    assert "ValueError: boom" in log


@pytest.mark.parametrize("args, message", [
    (["{missing}"], "no such file or folder"),
    (["{empty}"], "no files to grade"),
    (["{subs}", "--exercise", "99_nope"], "--exercise 99_nope: not one of 01_demo"),
    (["{subs}", "--timeout", "0"], "--timeout must be positive"),
])
def test_bad_arguments_end_with_one_line_naming_the_problem(course_dir, tmp_path, capsys, args,
                                                             message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "subs").mkdir()
    nbformat.write(_exercise(course_dir), tmp_path / "subs" / "a.ipynb")
    paths = {"missing": tmp_path / "missing", "empty": tmp_path / "empty",
             "subs": tmp_path / "subs"}
    argv = [a.format(**paths) for a in args]
    code = grade.main(argv + ["--solutions", str(course_dir / "solutions"),
                              "--output", str(tmp_path / "scores.csv")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "scores.csv").exists()


def test_the_grader_does_not_grade_its_own_csv_and_logs(course_dir, tmp_path):
    subs = tmp_path / "subs"
    (subs / "logs").mkdir(parents=True)
    (subs / "scores.csv").write_text("an earlier run")
    (subs / "logs" / "a.log").write_text("an earlier run")
    (subs / "answers.txt").write_text("not a notebook")
    rows = grade.grade(subs, subs / "scores.csv", course_dir / "solutions", logs=subs / "logs",
                       progress=lambda line: None)
    assert [r.submission.label for r in rows] == ["answers.txt"]
    assert (subs / "scores.csv").read_text().count("\n") == 2
