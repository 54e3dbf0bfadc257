# Every target installs what it needs into the repo (.venv, and later node_modules) and is safe to run again.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KCPF_DATA_DIR ?= ./data
export KCPF_DATA_DIR

.PHONY: setup run test lint bench system-deps clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The bot arrives with issue 3; until then `make run` shows the embedded register and what is due.
run: setup
	@mkdir -p $(KCPF_DATA_DIR)
	@echo "KCPF data directory: $(KCPF_DATA_DIR)"
	$(BIN)/kcpf register list
	$(BIN)/kcpf due

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# pytest exits 5 when it collects no tests: that is a failure, never a pass.
test: lint
	$(BIN)/python -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$status

bench: setup
	$(BIN)/python -m bench

# System packages some tests need (run as root). Tests that need them are skipped, naming the package, without.
system-deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-writer-nogui poppler-utils chromium

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
