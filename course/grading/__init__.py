"""Exercises and autograding for the course, on otter-grader.

- `course.grading.assign`: `solutions/NN_*.ipynb` (otter master notebooks: questions, solutions,
  public and hidden tests) → `exercises/NN_*.ipynb` + `exercises/tests/NN_*/` (stubs and public
  tests) — `python -m course.grading.assign` regenerates, `--check` only compares.
- `course.grading.runner`: runs one submitted notebook and its tests in a child process with a
  time limit, a memory limit and a cap on printed output (`course.grading.worker` is that child).
- `course.grade`: the instructor's command, a folder of submissions → a CSV of scores.
"""
