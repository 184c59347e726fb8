# The two commands of the README: `make demo` and `make test`. Both create .venv on first use.
# `make check`: what to run before a commit (lint, the layers, the unit and integration tiers; under two
# minutes). `make test` is everything, as CI runs it.
# `make bench`: issue 12's figures, each a ratio against a reference measured in the same run (bench/);
# a few minutes; installs wrk (Debian) when missing. Never part of `make test`.
# `make demo-prod`: a production install (pip install ., no test extras) in a fresh venv runs a small demo
# on the embedded defaults, as CI does.
PYTHON ?= python3
VENV ?= .venv
PROD_VENV ?= .venv-prod
DEMO_ORDERS ?= 20
BIN := $(VENV)/bin

.PHONY: test check demo demo-prod sandbox-freshbooks sandbox-xcart lint bench

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

test: lint
	$(BIN)/pytest -q

check: lint
	$(BIN)/pytest -q -m "unit or integration"

demo: $(BIN)/.installed
	$(BIN)/xcfb demo

demo-prod:
	rm -rf $(PROD_VENV)
	$(PYTHON) -m venv $(PROD_VENV)
	$(PROD_VENV)/bin/pip install -q .
	env -u REDIS_URL -u DATABASE_URL XCFB_HOME=$(CURDIR)/$(PROD_VENV)/var $(PROD_VENV)/bin/xcfb demo --orders $(DEMO_ORDERS)

bench: $(BIN)/.installed
	command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q wrk || sudo apt-get install -y -q wrk; }
	$(BIN)/pip install -q -e '.[test,bench]'
	env -u REDIS_URL -u DATABASE_URL $(BIN)/python -m bench

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

sandbox-freshbooks: $(BIN)/.installed
	$(BIN)/xcfb sandbox freshbooks --port 8100 --token sandbox-token

sandbox-xcart: $(BIN)/.installed
	$(BIN)/xcfb sandbox xcart --port 8200
