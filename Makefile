# Two commands do everything on a fresh Debian machine with python3:
#   make run    install, initialise ./prepaid-data (SQLite) and serve http://127.0.0.1:8000
#   make test   install test dependencies (Python and Debian packages) and run the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PREPAID_HOME ?= $(CURDIR)/prepaid-data
HOST ?= 127.0.0.1
PORT ?= 8000
export PREPAID_HOME
# pip runs only when needed: a stamp in the virtualenv, newer than pyproject.toml (the
# dependencies and the extras), says the install is done. The package is installed editable,
# so changes to the sources need no reinstall. A new virtualenv has no stamps.
INSTALLED := $(VENV)/.installed
INSTALLED_TEST := $(VENV)/.installed-test

.PHONY: install install-test system-deps run test lint typecheck bench clean

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
		echo "python3 -m venv is missing: installing Debian's python3-venv"; \
		rm -rf $(VENV); \
		$$( [ "$$(id -u)" -eq 0 ] || echo sudo ) apt-get update -qq && \
		$$( [ "$$(id -u)" -eq 0 ] || echo sudo ) env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq python3-venv >/dev/null && \
		$(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(INSTALLED)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

run: install
	$(BIN)/prepaid init
	$(BIN)/prepaid serve --host $(HOST) --port $(PORT)

# Debian packages the tests use: the PC/SC stack with its virtual reader driver, the pieces
# pyscard builds with, PostgreSQL, Chromium for the browser tests, gettext for the catalogs.
system-deps:
	@bash scripts/system-deps.sh

# The Debian packages are checked every time (quickly, without the network when present).
install-test: system-deps $(INSTALLED_TEST)

$(INSTALLED_TEST): pyproject.toml | $(BIN)/python system-deps
	$(BIN)/python -m pip install --quiet -e '.[test,pcsc,postgres]'
	touch $@ $(INSTALLED)

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install-test
	$(BIN)/mypy

# The suite runs twice: on SQLite, then on a throwaway PostgreSQL server the run starts itself
# (tests/postgres_server.py); the PC/SC group does not touch the database and runs once.
test: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest
	PREPAID_TEST_DATABASE=postgres $(BIN)/python -m pytest -m "not pcsc"

bench: install-test
	$(BIN)/python bench/core.py
	$(BIN)/python bench/sale.py
	$(BIN)/python bench/cli.py
	$(BIN)/python bench/pcsc.py
	$(BIN)/python bench/web.py
	$(BIN)/python bench/stations.py
	$(BIN)/python bench/reports.py

clean:
	rm -f $(INSTALLED) $(INSTALLED_TEST)
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
