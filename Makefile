# gridtwin: `make run` starts the whole platform locally; `make test` checks everything.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# The first Python 3.11+ on PATH (Django 5.2 LTS supports 3.11-3.13).
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& echo $$p && break; done)

.PHONY: run test lint typecheck pytest install install-dev bench-api bench-physics bench-farm bench-stats bench-ingest bench-live clean

$(VENV)/bin/python:
	@if [ -z "$(PYTHON)" ]; then echo "gridtwin needs Python 3.11 or newer on PATH." >&2; exit 1; fi
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev

run: install
	$(PY) -m config.run

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: install-dev
	$(VENV)/bin/mypy .

pytest: install-dev
	$(PY) -m tests.with_servers -- pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench-api: install-dev
	$(PY) -m tests.with_servers -- python -m bench.api

bench-physics: install-dev
	$(PY) -m bench.physics

bench-ingest: install-dev
	$(PY) -m tests.with_servers -- python -m bench.ingest

bench-farm: install-dev
	$(PY) -m tests.with_servers -- python -m bench.farm

bench-stats: install-dev
	$(PY) -m tests.with_servers -- python -m bench.stats

bench-live: install-dev
	$(PY) -m tests.with_servers -- python -m bench.live

clean:
	rm -rf $(VENV) gridtwin.sqlite3 .mypy_cache .ruff_cache .pytest_cache
