# The course in three targets. `make lab` to learn, `make test` to check everything.
# All targets create and reuse ./.venv and install nothing outside it (the Jupyter kernel
# "bert-tf-course" is registered inside the venv, so clones never re-point each other's).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
KERNEL := bert-tf-course
STAMP  := $(VENV)/.setup-stamp
TSTAMP := $(VENV)/.setup-test-stamp
export TF_CPP_MIN_LOG_LEVEL ?= 3
export PYTHONWARNINGS ?= ignore::DeprecationWarning

NBVAL := --nbval --nbval-kernel-name $(KERNEL) --nbval-sanitize-with chapters/sanitize.cfg \
         --nbval-cell-timeout 900 -p course.testing.nbtiming

.PHONY: setup setup-test lab test test-unit test-jax test-notebooks test-e2e lint clean \
        exercises test-exercises

## setup: create .venv, install the pinned stack + offline data packages, register the kernel
setup: $(STAMP)
	@$(PY) -m course.kernel --name $(KERNEL) --quiet

$(STAMP): pyproject.toml requirements/nodeps.txt
	@$(PYTHON) course/setup_check.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=24"
	$(PIP) install --quiet -e ".[course,dev]"
	$(PIP) install --quiet --no-deps -r requirements/nodeps.txt
	@$(PY) -m course.doctor
	@touch $@

## setup-test: setup, plus PyTorch + transformers for the Hugging Face parity tests
setup-test: setup $(TSTAMP)
$(TSTAMP): $(STAMP)
	$(PIP) install --quiet -e ".[course,dev,interop]"
	@touch $@

## lab: setup, then JupyterLab on the course (honours JUPYTER_PORT, JUPYTER_TOKEN; headless-safe)
lab: setup
	$(PY) -m course.lab

## test: setup, then unit tests (TF), model tests again on JAX, every chapter under nbval, e2e
test: setup-test test-unit test-jax test-notebooks test-e2e
	@echo "make test: all test groups passed"

test-unit: setup-test
	$(PY) -m pytest tests -m "not e2e" --durations=15

test-jax: setup-test
	KERAS_BACKEND=jax $(PY) -m pytest tests -m "multibackend" -q

test-notebooks: setup
	$(PY) -m pytest $(NBVAL) chapters

test-e2e: setup
	$(PY) -m pytest tests -m e2e -rs -v

## exercises: regenerate exercises/ (stubs + public tests) from the otter masters in solutions/
exercises: setup
	$(PY) -m course.grading.assign

## test-exercises: only the exercise and grader checks (test-unit runs them too)
test-exercises: setup
	$(PY) -m pytest tests/test_exercises.py tests/test_grading.py --durations=10

lint: setup
	$(PY) -m ruff check bert_tf course tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
