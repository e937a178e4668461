# Vocalis: `make run` serves real speech on http://127.0.0.1:8000, `make test` runs the suite
# (`make test-fast`: the quick part of it).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast bench install install-dev clean

run: $(VENV)/.installed
	$(BIN)/vocalis db upgrade
	$(BIN)/vocalis dev-key
	$(BIN)/vocalis serve

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

# Unit tests and the SQLite API tests, while working; `make test` runs everything.
test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m "not slow and not postgresql" -q -n auto

bench: $(VENV)/.installed-dev
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/run.py

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Vocalis needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) .pytest_cache
