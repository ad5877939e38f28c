# The two commands a person needs: `make demo` and `make test`. Everything else is set-up they call.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Front-end libraries come from npm at install time and are served by CityMeter itself (no CDN).
VENDOR := citymeter/web/static/vendor
VENDOR_STAMP := node_modules/.citymeter-vendored

.PHONY: demo test lint typecheck install clean serve bench

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

$(VENDOR_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/
	touch $(VENDOR_STAMP)

install: $(STAMP) $(VENDOR_STAMP)

demo: $(STAMP) $(VENDOR_STAMP)
	$(BIN)/citymeter demo

serve: $(STAMP) $(VENDOR_STAMP)
	$(BIN)/citymeter serve

lint: $(STAMP)
	$(BIN)/ruff check citymeter tests
	$(BIN)/ruff format --check citymeter tests

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) $(VENDOR_STAMP) lint typecheck
	$(BIN)/citymeter db check
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/citymeter bench import

clean:
	rm -rf $(VENV) node_modules $(VENDOR) citymeter-data .pytest_cache .mypy_cache .ruff_cache
