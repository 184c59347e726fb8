# The two commands of the README: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: test demo sandbox-freshbooks sandbox-xcart lint

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/pytest -q

demo: $(BIN)/.installed
	$(BIN)/xcfb demo

lint: $(BIN)/.installed
	$(BIN)/ruff check .

sandbox-freshbooks: $(BIN)/.installed
	$(BIN)/xcfb sandbox freshbooks --port 8100 --token sandbox-token

sandbox-xcart: $(BIN)/.installed
	$(BIN)/xcfb sandbox xcart --port 8200
