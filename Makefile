# Integration hub: `make run` starts everything locally, `make test` runs the suite.

PYTHON ?= python3
VENV ?= .venv
PY = $(VENV)/bin/python
PYTEST_ARGS ?=

# Values only for validating docker-compose.yml; real deployments set their own.
COMPOSE_CHECK_ENV = SECRET_KEY=compose-check JWT_SECRET_KEY=compose-check \
	FLOWER_BASIC_AUTH=staff:compose-check ENCRYPTION_KEYS=compose-check

.DEFAULT_GOAL := help

.PHONY: help install run test services fuzz bench chaos lint clean clean-instance compose-check

help:
	@echo "make install        create $(VENV) and install the project with its dev extras"
	@echo "make run            run the hub locally (Redis, API, worker, beat, Flower)"
	@echo "make test           run the test suite (starts its own PostgreSQL and Redis)"
	@echo "                    extra pytest arguments: make test PYTEST_ARGS='-k jobs -x'"
	@echo "make fuzz           schemathesis on every operation, 200 examples each (HUB_FUZZ_EXAMPLES)"
	@echo "make bench          benchmarks vs raw Celery; writes bench/results/ (BENCH_ARGS=--quick)"
	@echo "make chaos          2,000 jobs through worker kills, Redis/PostgreSQL/API restarts (CHAOS_ARGS)"
	@echo "make lint           ruff check and the import rules (lint-imports)"
	@echo "make compose-check  validate docker-compose.yml"
	@echo "make clean          remove $(VENV) and caches (keeps instance/)"
	@echo "make clean-instance remove instance/ (local database, secrets, mail, Redis dir)"

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else "Python >= 3.11 is required, $(PYTHON) is %d.%d: run make with PYTHON=python3.11 (or newer)" % v[:2])'
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "could not create $(VENV): on Debian/Ubuntu install python3-venv (sudo apt-get install python3-venv)" >&2; \
		exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

install: $(VENV)/.installed

run: install
	$(PY) scripts/run_hub.py

# The test suite starts PostgreSQL and Redis itself (scripts/localservices.py);
# this only makes sure their binaries are installed first, and Debian's
# chromium for the console's browser tests.
services: install
	$(PY) -c "import sys; sys.path.insert(0, 'scripts'); import localservices as s; s.ensure_redis_server(); s.ensure_postgres(); s.ensure_chromium()"

test: services
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest $(PYTEST_ARGS)

# Schemathesis at a larger size than the bounded run in make test.
fuzz: services
	HUB_FUZZ_EXAMPLES=$${HUB_FUZZ_EXAMPLES:-200} $(PY) -m pytest tests/fuzz $(PYTEST_ARGS)

bench: install
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	$(PY) -m bench.run $(BENCH_ARGS)

# Faults while jobs flow: prints submitted/succeeded/lost/duplicated and recovery times.
chaos: services
	$(PY) scripts/chaos.py $(CHAOS_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

# Docker Compose's own validation where it is installed; the PyYAML checks of
# scripts/compose_check.py (pinned images, dependencies, variables) everywhere.
compose-check: install
	@if docker compose version >/dev/null 2>&1; then \
		$(COMPOSE_CHECK_ENV) docker compose config -q; \
	elif command -v docker-compose >/dev/null 2>&1; then \
		$(COMPOSE_CHECK_ENV) docker-compose config -q; \
	else \
		echo "no Docker Compose here: checking docker-compose.yml with PyYAML only"; \
	fi
	$(PY) scripts/compose_check.py
	@echo "docker-compose.yml is valid"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist *.egg-info .coverage htmlcov
	find . -path ./instance -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

clean-instance:
	rm -rf instance
