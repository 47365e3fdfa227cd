# Beachhead: two commands for a newcomer, `make demo` and `make test`.
# The first Python 3.11+ found (python3.11 first, as the project is tested on it); PY=...
# picks another.
PY ?= $(shell for p in python3.11 python3.12 python3.13 python3.14 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 \
	&& { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-runtime

.PHONY: install install-runtime demo serve test check lint typecheck pytest bench postgres chromium clean

# The runtime alone (what the demo and the server import), for `make demo` and `make serve`.
# --no-compile: Python compiles only the modules it imports, on first use, instead of pip
# compiling every installed file up front (measured in docs/demo.md); `demo` and `serve` let
# Python cache what it compiled (PYTHONDONTWRITEBYTECODE emptied for them), as pip would
# have. A newer pip than Python 3.11's bundled one installs much faster, so it comes first.
$(RUN_STAMP): pyproject.toml
	@test -n "$(PY)" || { echo "need Python 3.11+ (python3.11 or newer on PATH, or PY=...)"; exit 1; }
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --no-compile -e .
	touch $(RUN_STAMP)

# Everything, dev extras included (tests, linters, browser driver, SDKs), for the rest.
$(STAMP): pyproject.toml
	@test -n "$(PY)" || { echo "need Python 3.11+ (python3.11 or newer on PATH, or PY=...)"; exit 1; }
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP) $(RUN_STAMP)

install: $(STAMP)

install-runtime: $(RUN_STAMP)

demo: install-runtime
	PYTHONDONTWRITEBYTECODE= $(BIN)/beachhead demo

serve: install-runtime
	PYTHONDONTWRITEBYTECODE= $(BIN)/beachhead serve

postgres:
	@bash scripts/ensure-postgres.sh

chromium:
	@bash scripts/ensure-chromium.sh

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

# The full suite: every backend, slow suites included.
test: install postgres chromium lint typecheck
	$(BIN)/pytest -q

# The quick loop: no slow suites.
check: install postgres lint typecheck
	$(BIN)/pytest -q -m "not slow and not e2e"

bench: install postgres
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
