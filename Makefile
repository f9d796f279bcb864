# Two entry points for a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test deps venv bench clean

deps:
	@sh scripts/install-deps.sh

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

test: deps venv
	$(BIN)/pytest -q $(PYTEST_ARGS) tests

demo: deps venv
	$(BIN)/taas demo

bench: deps venv
	$(BIN)/taas bench all

clean:
	rm -rf $(VENV) .pytest_cache
