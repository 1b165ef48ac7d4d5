# One task runner for people and CI. `make run` and `make test` are the two
# commands of the README; everything installs into .venv by itself.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SCENARIO ?= scenarios/smoke.yaml
PYTEST_ARGS ?=
# pytest processes at once (tests/shards.py deals the test files out); 1 runs pytest as is
TEST_JOBS ?= 2

.PHONY: install run test test-fast bench lint format typecheck clean

# Idempotent: re-installs only when pyproject.toml changed since the last install.
install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11'" >&2; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

run: install
	$(BIN)/dvcload run $(SCENARIO)

test: install
	$(BIN)/python tests/shards.py --jobs $(TEST_JOBS) $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python tests/shards.py --jobs $(TEST_JOBS) -m "not integration" $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m benchmarks

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache build *.egg-info
