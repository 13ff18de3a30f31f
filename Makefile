# The one entry point: `make run` (local stack + demo job), `make test` (the whole suite on real services).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ENV ?= dev
export FIRESTORE_EMULATOR_HOST ?= 127.0.0.1:8681

.PHONY: setup run test lint fmt emulator bench deploy plan package clean

setup: $(VENV)/.dev emulator/node_modules/.installed

# `make run` needs only the runtime dependencies; tests, lint and benchmarks the rest.
# Each stamp is remade whenever a requirements or constraints file changes.
$(VENV)/.runtime: requirements.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

emulator/node_modules/.installed: emulator/package.json emulator/package-lock.json
	cd emulator && npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: $(VENV)/.runtime emulator/node_modules/.installed
	$(PY) -m devstack

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy leadengine runner functions devstack bench

fmt: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

emulator: emulator/node_modules/.installed
	node emulator/server.js "$(FIRESTORE_EMULATOR_HOST)"

bench: setup
	$(PY) -m bench

clean:
	rm -rf $(VENV) emulator/node_modules build .pytest_cache .mypy_cache .ruff_cache
