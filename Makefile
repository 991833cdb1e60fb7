# Two commands on a fresh machine: `make lab` and `make test` (`make` alone lists them all). Both
# create .venv and install the course's three packages into it (editable: the learner's rlcourse
# with its test tools, authoring/ and grading/) only when .venv is missing or a pyproject.toml
# changed since the last install.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.rlcourse-installed
LAB_ARGS ?=
SITE_ARGS ?=
PYTEST_ARGS ?=
PORTABLE_ARGS ?=
# One BLAS/OpenMP thread per process: two pytest-xdist workers (and their notebook kernels) share
# CI's two cores, and oversubscribed torch threads slow a small forward pass by orders of magnitude.
THREADS_ENV := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
TEST_ENV := MPLBACKEND=Agg SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy PYDEVD_DISABLE_FILE_VALIDATION=1 $(THREADS_ENV)
NBVAL_OPTS := --nbval --nbval-current-env --nbval-cell-timeout=180 --nbval-sanitize-with tests/nbval_sanitize.cfg

.DEFAULT_GOAL := help
.PHONY: help install lab lab-instructor test unit notebooks lint build check-build execute \
	test-portable test-lowest site clean

help: ## list the targets (this message)
	@echo "rlcourse: make TARGET"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(firstword $(MAKEFILE_LIST)) | \
		sed -E 's/^([a-zA-Z_-]+):.*## (.*)/\1|\2/' | awk -F'|' '{printf "  %-16s %s\n", $$1, $$2}'
	@echo "Variables: LAB_ARGS (JupyterLab flags, e.g. LAB_ARGS=--no-browser), PYTEST_ARGS, NB, PYTHON, SITE_ARGS (e.g. SITE_ARGS=--branch=dev)."

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml authoring/pyproject.toml grading/pyproject.toml | $(PY)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[test]" -e ./authoring -e ./grading
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the course into it (only when needed)

# JupyterLab refuses to run as root without --allow-root (containers, CI machines).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

# tests/test_lab.py and tests/test_browser.py start this same command (with --no-browser).
lab: install ## your copies of the notebooks in my-notebooks/ (never overwritten), then JupyterLab
	$(PY) -m rlcourse_authoring lab $(ROOT_FLAG) $(LAB_ARGS)

lab-instructor: install ## JupyterLab with nbgrader's instructor tools (docs/instructors.md)
	$(PY) -m rlcourse_authoring lab --instructor $(ROOT_FLAG) $(LAB_ARGS)

lint: install ## ruff check .
	$(PY) -m ruff check .

check-build: install ## fail when notebooks/ (or a solution's Colab cell) is stale
	$(PY) -m rlcourse_authoring build --check

# Unit tests, then every notebook in solutions/ (outputs compared) and notebooks/ (lax), spread
# over both cores one notebook per worker (--dist loadscope keeps a notebook's cells together).
# my-notebooks/ (the learner's own copies) is never tested, built or linted.
test: install lint check-build ## ruff, build --check, unit tests, every notebook (nbval)
	$(TEST_ENV) $(PY) -m pytest -n 2 --dist loadscope $(NBVAL_OPTS) tests solutions notebooks $(PYTEST_ARGS)

unit: install ## the fast unit tests only (no training, no server, no notebook): about a minute
	$(TEST_ENV) $(PY) -m pytest -n 2 --dist loadscope -m "not slow" tests $(PYTEST_ARGS)

notebooks: install ## nbval over solutions/ and notebooks/ only
	$(TEST_ENV) $(PY) -m pytest -n 2 --dist loadscope $(NBVAL_OPTS) solutions notebooks $(PYTEST_ARGS)

# Authoring: execute solutions/ in place (stored outputs for nbval), then regenerate notebooks/.
# build first: a cell generated from the package (the loops of 03 and 04) must be current
# before it runs
execute: install ## authors: build, run NB="solutions/NN_x.ipynb ..." in place, then build
	$(PY) -m rlcourse_authoring build
	$(TEST_ENV) $(PY) -m rlcourse_authoring execute $(NB)
	$(PY) -m rlcourse_authoring build

build: install ## authors: refresh the Colab cells of solutions/, regenerate notebooks/
	$(PY) -m rlcourse_authoring build

# The website: pages from solutions/ with their stored outputs (nothing re-executed), MathJax
# vendored from the npm registry (needs npm), nothing loaded from elsewhere at view time.
site: install ## the course as a static website in _build/site/ (open _build/site/index.html)
	$(PY) -m rlcourse_authoring.site $(SITE_ARGS)

test-portable: install ## solutions/ under other BLAS kernels, ATen capabilities, thread counts
	$(PY) tools/test_portable.py $(PORTABLE_ARGS)

test-lowest: ## the suite with the lowest allowed versions (its own venv in $$TMPDIR)
	$(PYTHON) tools/test_portable.py --lowest

clean: ## remove .venv, caches and _build/ (never my-notebooks/)
	rm -rf $(VENV) .pytest_cache .ruff_cache _build
