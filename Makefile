# gridtwin: `make run` starts the whole platform locally; `make test` checks everything.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# The first Python 3.11+ on PATH (Django 5.2 LTS supports 3.11-3.13).
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& echo $$p && break; done)

.PHONY: run test lint typecheck pytest install install-dev web web-check test-faults bench-web bench-api bench-physics bench-plan bench-farm bench-farm-plans bench-signals bench-stats bench-ingest bench-live clean

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

# The dashboard (web/): Node packages from the lockfile only. Its build is committed, so
# `make run` needs no Node; `make web` rebuilds it after a change.
web/node_modules/.installed: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web: web/node_modules/.installed
	cd web && npm run --silent codegen && npm run --silent build

# Types regenerated from the committed schema, type check, unit tests, and a rebuild: any
# difference from what is committed (a schema change the dashboard does not follow, a stale
# bundle) fails.
web-check: web
	cd web && npm test --silent
	@changed="$$(git status --porcelain -- web/src/generated web/dist)"; \
	if [ -n "$$changed" ]; then \
		echo "The dashboard's generated types or build differ from the committed ones:" >&2; \
		echo "$$changed" >&2; git --no-pager diff --stat -- web/src/generated web/dist >&2; \
		echo "Run \`make web\` and commit the result." >&2; exit 1; fi

# The fault suite: its own servers, restarted and killed under the running platform; prints
# the table recorded in docs/reliability.md (and writes it to test-artifacts/reliability.md).
test-faults: install-dev
	$(PY) -m tests.with_servers -- pytest tests/faults -m faults -v $(PYTEST_ARGS)

test: lint typecheck web-check pytest test-faults

bench-api: install-dev
	$(PY) -m tests.with_servers -- python -m bench.api

bench-physics: install-dev
	$(PY) -m bench.physics

bench-plan: install-dev
	$(PY) -m tests.with_servers -- python -m bench.plan

bench-ingest: install-dev
	$(PY) -m tests.with_servers -- python -m bench.ingest

bench-farm: install-dev
	$(PY) -m tests.with_servers -- python -m bench.farm

bench-farm-plans: install-dev
	$(PY) -m tests.with_servers -- python -m bench.farm_plans

bench-stats: install-dev
	$(PY) -m tests.with_servers -- python -m bench.stats

bench-live: install-dev
	$(PY) -m tests.with_servers -- python -m bench.live

bench-signals: install-dev
	$(PY) -m tests.with_servers -- python -m bench.signals

bench-web: install-dev
	$(PY) -m tests.with_servers -- python -m bench.web

clean:
	rm -rf $(VENV) web/node_modules test-artifacts gridtwin.sqlite3 .mypy_cache .ruff_cache .pytest_cache
