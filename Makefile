# Every target installs what it needs into the repo (.venv, node_modules) and is safe to run again.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
KCPF_DATA_DIR ?= ./data
export KCPF_DATA_DIR

.PHONY: setup node-deps run test lint bench system-deps clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The Agents Playground (package.json, exact version, package-lock.json): `npm ci` again only when the lock changes.
# Without npm the Playground tests are skipped, saying why, and `make run` says what is missing.
node-deps: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $(NODE_STAMP); \
	else \
		echo "npm not found: install Node.js (Debian: nodejs npm) for the Agents Playground" >&2; \
	fi

# The bot (`kcpf serve`, on port 3978 or a free one) on the register in $(KCPF_DATA_DIR), and the Microsoft 365
# Agents Playground in front of it; Ctrl-C stops both.
run: setup node-deps
	$(BIN)/python -m tests.playground

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# pytest exits 5 when it collects no tests: that is a failure, never a pass.
test: lint node-deps
	$(BIN)/python -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$status

bench: setup
	$(BIN)/python -m bench

# System packages some tests need (run as root). Tests that need them are skipped, naming the package, without.
system-deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-writer-nogui poppler-utils chromium

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
