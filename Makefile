# Vocalis: `make run` serves real speech on http://127.0.0.1:8000, `make test` runs the suite
# (`make test-fast`: the quick part of it).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# The dashboard: built into the package (src/vocalis/web/dist) when missing or older than its
# sources. Without npm the API still runs; / then shows the API docs.
WEB_BUILD := src/vocalis/web/dist/index.html
WEB_MODULES := frontend/node_modules/.package-lock.json
WEB_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	frontend/index.html frontend/package.json frontend/vite.config.ts frontend/tsconfig.json
HAVE_NPM := $(shell command -v npm 2>/dev/null)

.PHONY: run test test-fast test-frontend dashboard dev-frontend api-client bench install install-dev clean

run: $(VENV)/.installed dashboard
	$(BIN)/vocalis db upgrade
	$(BIN)/vocalis dev-key
	$(BIN)/vocalis serve

# Two to four test processes (one per core): each has its own databases and free ports.
test: $(VENV)/.installed-dev test-frontend dashboard
	$(BIN)/python -m pytest -n auto --maxprocesses 4

ifdef HAVE_NPM
dashboard: $(WEB_BUILD)
test-frontend: $(WEB_MODULES)
	cd frontend && npm run typecheck && npm test && npm run check:api
else
dashboard:
	@echo "npm not found: the dashboard is not built (install Node.js 20+ for it); the API works without it"
test-frontend:
	@echo "npm not found: the dashboard's own tests are skipped (install Node.js 20+ for them)"
endif

$(WEB_MODULES): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

$(WEB_BUILD): $(WEB_MODULES) $(WEB_SOURCES)
	cd frontend && npm run build

# The Vite dev server on :5173, handing API calls to `make run` on :8000.
dev-frontend: $(WEB_MODULES)
	cd frontend && npm run dev

# After changing the API: the schema the dashboard's client is typed from, and the client.
api-client: $(VENV)/.installed $(WEB_MODULES)
	env -i PATH="$$PATH" HOME="$$HOME" $(BIN)/vocalis openapi -o frontend/src/api/openapi.json
	cd frontend && npm run gen:api

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
