# The README's two commands. Both bootstrap .venv on a fresh machine (Python 3.11 + PyPI only).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
RUN_INSTALLED := $(VENV)/.run-installed
PORT ?= 8000

.PHONY: run test lint lock bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Exactly the locked versions, checked against their hashes; then the project itself, without resolving again.
# `make run` needs only the app's lock (what Render installs); `make test` adds the rest (tests, lint, Pulumi).
# The dev lock is constrained by the app's, so both share one .venv at the same versions.
$(RUN_INSTALLED): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --editable .
	touch $@

$(INSTALLED): pyproject.toml requirements-dev.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps --editable .
	touch $@ $(RUN_INSTALLED)

lock: $(INSTALLED)
	$(BIN)/ephitup lock

run: $(RUN_INSTALLED)
	$(BIN)/ephitup dev --stack dev --port $(PORT)

test: $(INSTALLED)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check app infra scripts tests benchmarks
	$(BIN)/mypy app infra scripts --ignore-missing-imports

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
