# The two commands the README opens with: `make demo` and `make test`.
# Each creates its own virtual environment; only Python 3.11+, make and git are assumed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# gbstats, the reference tests/stats compares against, pins numpy 1.x: it gets a venv of its own.
GBSTATS_VENV ?= .venv-gbstats
GBSTATS_STAMP := $(GBSTATS_VENV)/.installed
GBSTATS_PYTHON ?= $(abspath $(GBSTATS_VENV))/bin/python

.PHONY: demo test lint serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(GBSTATS_STAMP):
	$(PYTHON) -m venv $(GBSTATS_VENV)
	$(GBSTATS_VENV)/bin/pip install --quiet --upgrade pip
	$(GBSTATS_VENV)/bin/pip install --quiet gbstats==0.8.0
	touch $(GBSTATS_STAMP)

demo: $(STAMP)
	$(BIN)/liftlab demo $(DEMO_ARGS)

serve: $(STAMP)
	$(BIN)/liftlab serve

test: $(STAMP) $(GBSTATS_STAMP)
	$(BIN)/ruff check src tests bench
	GBSTATS_PYTHON=$(GBSTATS_PYTHON) $(BIN)/pytest -n 2 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

clean:
	rm -rf $(VENV) $(GBSTATS_VENV) .liftlab
