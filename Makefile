# make run: set up and serve on http://127.0.0.1:8000.  make test: set up and run every check.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint fast-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/tfquiz migrate
	$(BIN)/tfquiz serve --no-migrate

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app

AXE := node_modules/axe-core/axe.min.js

$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $(AXE)

# The whole suite runs on SQLite, then again on PostgreSQL when a server is given
# (export TFQUIZ_TEST_POSTGRES_URL="$$(bash .ci/postgres)"); CI must give one.
test: $(STAMP) $(AXE) lint
	$(BIN)/tfquiz migrate
	$(BIN)/tfquiz check questions/
	$(BIN)/pytest
	@if [ -n "$$TFQUIZ_TEST_POSTGRES_URL" ]; then \
		echo "== the whole suite again, on PostgreSQL =="; \
		TFQUIZ_TEST_DATABASE=postgres $(BIN)/pytest; \
	elif [ "$$CI" = "true" ]; then \
		echo "CI runs the suite on PostgreSQL too, but TFQUIZ_TEST_POSTGRES_URL is unset" >&2; \
		exit 1; \
	else \
		echo "PostgreSQL pass skipped: export TFQUIZ_TEST_POSTGRES_URL=\"\$$(bash .ci/postgres)\""; \
	fi

fast-test: $(STAMP)
	$(BIN)/pytest -m "not slow"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
