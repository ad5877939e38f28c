# The two commands a person needs: `make demo` and `make test`. Everything else is set-up they call.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck install clean serve bench

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/citymeter demo

serve: $(STAMP)
	$(BIN)/citymeter serve

lint: $(STAMP)
	$(BIN)/ruff check citymeter tests
	$(BIN)/ruff format --check citymeter tests

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) lint typecheck
	$(BIN)/citymeter db check
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/citymeter bench import

clean:
	rm -rf $(VENV) citymeter-data .pytest_cache .mypy_cache .ruff_cache
