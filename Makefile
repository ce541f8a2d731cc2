# sandboxer: the two commands a user needs are `make demo` and `make test`.
# Every target creates/updates the project's virtual environment first.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: help venv demo test test-fast test-postgres test-docker golden bench lint format clean

help:
	@echo "make demo          - the shop example end to end: snapshot, sandbox, baseline, sandboxer test"
	@echo "make test          - the whole test suite (PostgreSQL and Docker tests included)"
	@echo "make test-fast     - the tests not marked postgres, docker or slow"
	@echo "make test-postgres - the tests marked postgres (a cluster started from local binaries)"
	@echo "make test-docker   - the tests marked docker (need a Docker engine)"
	@echo "make bench         - benchmarks on TPC-H (ratios against plain baselines)"
	@echo "make lint          - ruff (lint, format check), mypy and the import-linter layers contract"
	@echo "make golden        - rewrite the golden files (tests/**/golden/) from the current code"
	@echo "make format        - ruff format, then ruff check --fix"
	@echo "make clean         - remove the local store (.sandboxer) and the tool caches"
	@echo "make venv          - create or update the virtual environment (every target does it first)"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not postgres and not docker and not slow" $(PYTEST_ARGS)

test-postgres: $(STAMP)
	$(BIN)/python -m pytest -m postgres $(PYTEST_ARGS)

test-docker: $(STAMP)
	$(BIN)/python -m pytest -m docker $(PYTEST_ARGS)

# Review what changed with `git diff tests` before committing the refreshed files.
golden: $(STAMP)
	SANDBOXER_UPDATE_GOLDEN=1 $(BIN)/python -m pytest -q -m golden $(PYTEST_ARGS)
	@git status --short -- 'tests/*golden*' 2>/dev/null || true

bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check sandboxer tests bench examples
	$(BIN)/ruff format --check sandboxer tests bench examples
	$(BIN)/mypy sandboxer
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format sandboxer tests bench examples
	$(BIN)/ruff check --fix sandboxer tests bench examples

clean:
	rm -rf .sandboxer .pytest_cache .ruff_cache .mypy_cache
