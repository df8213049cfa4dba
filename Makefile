SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PORT ?= 8000
export PORT

# `make run` is local mode; everything else defaults to production settings.
LOCAL := REALGEEKS_MODE=local

.PHONY: install run test lint typecheck format lock bench

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	touch $@

run: install
	$(LOCAL) $(VENV)/bin/python manage.py ensuredb
	$(LOCAL) $(VENV)/bin/python manage.py migrate --no-input
	$(LOCAL) $(VENV)/bin/python manage.py demodata --base-url http://127.0.0.1:$(PORT)
	$(LOCAL) bin/serve

test: install
	$(VENV)/bin/pytest

# ruff, and the import layers (docs/architecture.md) with import-linter.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

# mypy with the Django and DRF plugins; the settings it loads need local mode.
typecheck: install
	$(LOCAL) $(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Re-resolve the pinned dependencies after editing pyproject.toml.
lock: install
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes --quiet -o requirements.lock

bench: install
	command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(VENV)/bin/python -m bench
