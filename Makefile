# Two commands on a fresh machine: `make lab` and `make test`. Both create .venv and install the
# course into it (editable, with the test and grading extras) only when .venv is missing or
# pyproject.toml changed since the last install.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.rlcourse-installed
LAB_ARGS ?=
PYTEST_ARGS ?=
# One BLAS/OpenMP thread per process: two pytest-xdist workers (and their notebook kernels) share
# CI's two cores, and oversubscribed torch threads slow a small forward pass by orders of magnitude.
THREADS_ENV := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
TEST_ENV := MPLBACKEND=Agg SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy PYDEVD_DISABLE_FILE_VALIDATION=1 $(THREADS_ENV)
NBVAL_OPTS := --nbval --nbval-current-env --nbval-cell-timeout=180 --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: install lab test unit notebooks lint build check-build execute clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[test,grade]"
	touch $(STAMP)

install: $(STAMP)

# JupyterLab refuses to run as root without --allow-root (containers, CI machines).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: install
	$(VENV)/bin/jupyter lab notebooks/00_start_here.ipynb $(ROOT_FLAG) $(LAB_ARGS)

lint: install
	$(PY) -m ruff check .

check-build: install
	$(PY) -m rlcourse build --check

# Unit tests, then every notebook in solutions/ (outputs compared) and notebooks/ (lax), spread
# over both cores one notebook per worker (--dist loadscope keeps a notebook's cells together).
test: install lint check-build
	$(TEST_ENV) $(PY) -m pytest -n 2 --dist loadscope $(NBVAL_OPTS) tests solutions notebooks $(PYTEST_ARGS)

unit: install
	$(TEST_ENV) $(PY) -m pytest -n 2 --dist loadscope tests $(PYTEST_ARGS)

notebooks: install
	$(TEST_ENV) $(PY) -m pytest -n 2 --dist loadscope $(NBVAL_OPTS) solutions notebooks $(PYTEST_ARGS)

# Authoring: execute solutions/ in place (stored outputs for nbval), then regenerate notebooks/.
execute: install
	$(TEST_ENV) $(PY) -m rlcourse execute $(NB)
	$(PY) -m rlcourse build

build: install
	$(PY) -m rlcourse build

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
