# The two commands that matter: `make run` and `make test` (see README.md).
# Everything is installed into .venv by these targets; nothing outside it is needed but Python 3.11.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test lint install install-test clean

run: $(VENV)/.installed
	$(BIN)/convoy-bot serve

# Coverage is measured in the test process and in every Python process it starts (the bots,
# `python -m bot serve`, and the CLI), each writing its own data file (pyproject.toml,
# [tool.coverage]); they are combined and reported. The floor there holds for a whole run;
# a run narrowed with PYTEST_ARGS only reports.
# The tests run in TEST_WORKERS pytest-xdist workers (two per core: most of a test's time is
# spent waiting on the bots it starts); each worker has its own ports (tests/fakes/loopback.py)
# and every test its own Redis where it needs one. TEST_WORKERS=0 runs them in one process.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))
# The suite runs twice: on a Redis Cluster of three masters with a replica each (tests marked
# single_node skipped; no coverage: the second pass measures it), then on one Redis server
# under coverage. TEST_REDIS=single runs the second pass alone.
TEST_REDIS ?= both

test: lint
	rm -f .coverage .coverage.*
ifneq ($(TEST_REDIS),single)
	CONVOY_TEST_REDIS=cluster $(BIN)/pytest -n $(TEST_WORKERS) -p no:cacheprovider $(PYTEST_ARGS)
endif
	$(BIN)/coverage run -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)
	$(BIN)/coverage combine --quiet
	$(BIN)/coverage report $(if $(PYTEST_ARGS),--fail-under=0)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The stamps make repeated runs skip pip; editing pyproject.toml makes them stale.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

# The test extras include the runtime dependencies, so they satisfy `make run` too.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(VENV)/.installed $@

# Keeps .convoy-bot/: it holds the embedded Redis data, including the role grants.
clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache .hypothesis *.egg-info .coverage .coverage.*
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# The long randomised fault run (the default test run has a short one).
.PHONY: chaos
chaos: $(VENV)/.installed-test
	CHAOS_ACTIONS=400 $(BIN)/python -m pytest -m chaos -s --timeout=3600 tests/change/test_chaos.py

# Benchmarks (issue #6, see bench/): our bot against a bare Bolt app, writes BENCHMARKS.md (~10 min).
.PHONY: bench bench-smoke
bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

# A tiny load in under 30 s for CI: fails only when something is broken, never on timings.
bench-smoke: $(VENV)/.installed-test
	$(BIN)/python -m bench --quick
