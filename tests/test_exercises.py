"""CI for the exercises: every `solutions/NN_*.ipynb` is picked up automatically.

- `exercises/` is exactly what `python -m course.grading.assign` generates from `solutions/`;
- every master follows the course's conventions (Colab cell, seeds, no committed outputs,
  at least three questions, each with public and hidden tests drawing random inputs);
- every solution passes every public and hidden test, in a child process as a class would be
  graded, and its cells run in at most a minute;
- every unsolved exercise fails every test (so no test passes vacuously);
- the learner's `grader.check("qK")` finds and runs the public tests offline;
- each exercise's chapter points to it by its file name.
"""

from __future__ import annotations

import concurrent.futures
import functools
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from course.grading import assign
from course.grading.runner import Limits, Outcome, run_notebook

ROOT = Path(__file__).resolve().parents[1]
MASTERS = assign.masters(ROOT / "solutions")
NAMES = [m.stem for m in MASTERS]
SOLUTION_BUDGET_S = 60  # the limit for one solution notebook's cells


@pytest.fixture(scope="module")
def built() -> dict[str, assign.Built]:
    return {m.stem: assign.build(m) for m in MASTERS}


def _tests_dir(tmp_path: Path, b: assign.Built, hidden: bool = True) -> Path:
    folder = tmp_path / "tests" / b.name
    folder.mkdir(parents=True)
    for fname, text in (b.all_tests if hidden else b.public_tests).items():
        (folder / fname).write_text(text, encoding="utf-8")
    return folder


def _cases(b: assign.Built):
    from otter.test_files import ExceptionTestFile

    out = {}
    for fname, text in b.all_tests.items():
        test_file = ExceptionTestFile.from_string(text, path=fname)
        out[test_file.name] = (test_file, text)
    return out


def test_there_are_exercises():
    assert len(NAMES) >= 4, f"expected the exercises of chapters 01-04 at least, found {NAMES}"


def test_exercises_are_regenerated_without_a_diff(built):
    diff = assign.differences(ROOT / "solutions", ROOT / "exercises", list(built.values()))
    assert not diff, "exercises/ is stale; run `make exercises`:\n" + "\n".join(diff)


@pytest.mark.parametrize("name", NAMES)
def test_master_follows_the_conventions(name, built):
    import nbformat

    master = ROOT / "solutions" / f"{name}.ipynb"
    nb = nbformat.read(master, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    first = code[0].source
    assert "google.colab" in first and "git clone" in first and "exercises" in first, (
        f"{master}: the first code cell must install inside Colab only, and clone the repository "
        "and cd into exercises/ there (the checks read exercises/tests/)")
    assert any("course.notebook.setup(seed=" in c.source for c in code), f"{master}: no seeded setup"
    with_output = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.outputs]
    assert not with_output, f"{master}: commit master notebooks without outputs (cells {with_output})"

    questions = _cases(built[name])
    assert len(questions) >= 3, f"{master}: {len(questions)} autograded questions, need at least 3"
    for qname, (test_file, text) in questions.items():
        kinds = {tc.hidden for tc in test_file.test_cases}
        assert kinds == {True, False}, f"{master} {qname}: needs public and hidden tests"
        assert "random_inputs()" in text, (
            f"{master} {qname}: the tests must draw random inputs (course.grading.checks."
            "random_inputs) so that a hard-coded answer cannot pass")


@functools.cache
def _graded(name: str) -> tuple[Outcome, Outcome, set[str]]:
    """The solution and the unsolved exercise, graded as a class would be (each in a child
    process, public and hidden tests), side by side on the two cores."""
    b = assign.build(ROOT / "solutions" / f"{name}.ipynb")
    limits = Limits(timeout_s=4 * SOLUTION_BUDGET_S, cell_timeout_s=2 * SOLUTION_BUDGET_S)
    with tempfile.TemporaryDirectory() as tmp:
        tests = _tests_dir(Path(tmp), b)
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            solved = pool.submit(run_notebook, ROOT / "solutions" / f"{name}.ipynb", name, tests,
                                 limits)
            unsolved = pool.submit(run_notebook, ROOT / "exercises" / f"{name}.ipynb", name,
                                   tests, limits)
            return solved.result(), unsolved.result(), set(_cases(b))


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_solution_passes_every_test_within_a_minute(name):
    outcome, _, questions = _graded(name)
    assert outcome.status == "graded", f"{name}: {outcome.status}: {outcome.reasons}\n{outcome.output}"
    failed = [f"{q}/{c['name']}: {c['message']}" for q, r in outcome.questions.items()
              for c in r["cases"] if not c["passed"]]
    assert not failed, f"{name}: the solution fails {failed}"
    assert set(outcome.questions) == questions, "some questions were not graded"
    print(f"{name}: solution cells {outcome.runtime_s:.1f} s, graded in {outcome.wall_s:.1f} s")
    assert outcome.runtime_s <= SOLUTION_BUDGET_S, (
        f"{name}: the solution's cells took {outcome.runtime_s:.0f} s on this machine; the budget "
        f"is {SOLUTION_BUDGET_S} s per solution notebook")


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_unsolved_exercise_fails_every_test(name):
    _, outcome, questions = _graded(name)
    assert outcome.status in ("graded", "cell errors"), f"{name}: {outcome.status}: {outcome.reasons}"
    assert set(outcome.questions) == questions, "some questions were not graded"
    vacuous = [f"{q}/{c['name']}" for q, r in outcome.questions.items()
               for c in r["cases"] if c["passed"]]
    assert not vacuous, f"{name}: these tests pass on the unsolved stubs: {vacuous}"
    assert outcome.score == 0


CHECK_SCRIPT = r"""
import json, sys
import nbformat
import otter

out = {}
for name, questions in json.loads(sys.argv[1]).items():
    nb = nbformat.read(name + ".ipynb", as_version=4)
    init = next(c.source for c in nb.cells if c.cell_type == "code" and "otter.Notebook(" in c.source)
    env = {}
    exec(init, env)
    checks = [c.source.strip() for c in nb.cells if c.cell_type == "code"
              and c.source.strip().startswith("grader.check(")]
    out[name] = {"checks": checks, "grades": {}}
    for q in questions:
        result = env["grader"].check(q, global_env={})
        out[name]["grades"][q] = result.grade
print(json.dumps(out))
"""


def test_public_checks_run_offline_from_the_exercise_folder(built, tmp_path):
    """What a learner runs: the exercise's own init cell, then `grader.check` on each question,
    from a copy of `exercises/` (JupyterLab's working directory for the notebook; otter writes
    a log file there)."""
    from course.grade import natural_key

    folder = tmp_path / "exercises"
    shutil.copytree(ROOT / "exercises", folder)
    questions = {name: sorted(_cases(b), key=natural_key) for name, b in built.items()}
    proc = subprocess.run([sys.executable, "-c", CHECK_SCRIPT, json.dumps(questions)],
                          cwd=folder, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, qs in questions.items():
        assert report[name]["checks"] == [f'grader.check("{q}")' for q in qs], (
            f"{name}: one grader.check cell per question, in order")
        for q in qs:
            assert report[name]["grades"][q] == 0, (
                f"{name} {q}: the public checks should run and fail on an empty notebook")


@pytest.mark.parametrize("name", NAMES)
def test_chapter_points_to_its_exercise(name):
    chapter = ROOT / "chapters" / f"{name}.ipynb"
    if not chapter.is_file():
        pytest.skip(f"no chapter {chapter.name} yet")
    text = "".join("".join(c["source"]) for c in json.loads(chapter.read_text())["cells"])
    assert f"exercises/{name}.ipynb" in text, f"{chapter} should point to exercises/{name}.ipynb"
