# Multicloud developer entry points. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help venv run test test-postgres lint sandbox-up sandbox-down bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP) ## create .venv with the pinned runtime and test dependencies

run: $(STAMP) ## set up and start the service on its embedded defaults (port 9001)
	./run.sh

# COVERAGE=1: the SQLite pass runs under coverage.py (run.sh servers and commands included,
# see [tool.coverage.run] in pyproject.toml), then reports and fails below the floor.
PYTEST = $(if $(COVERAGE),COVERAGE_FILE=$(CURDIR)/.coverage $(VENV)/bin/coverage run -m pytest,$(PY) -m pytest)

test: $(STAMP) ## run the whole test suite (SQLite; PostgreSQL too when TEST_DATABASE_URL is set; COVERAGE=1 measures)
	$(if $(COVERAGE),rm -f .coverage .coverage.*)
	$(PYTEST) $(PYTEST_ARGS)
	$(if $(COVERAGE),$(VENV)/bin/coverage combine -q && $(VENV)/bin/coverage report)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== again on $$TEST_DATABASE_URL (database-backed tests)"; \
	  DATABASE_URL="$$TEST_DATABASE_URL" $(PY) -m pytest -m "not sandbox and not system" $(PYTEST_ARGS); \
	fi

lint: $(STAMP) ## ruff check, ruff format --check, mypy, lint-imports (layering, no cycles)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

sandbox-up: ## start the OpenStack sandbox (tools/openstack-sandbox.sh)
	bash tools/openstack-sandbox.sh

sandbox-down: ## stop the OpenStack sandbox
	bash tools/openstack-sandbox-stop.sh

bench: $(STAMP) ## run the HTTP benchmarks of both modes side by side, write bench/REPORT.md
	bash bench/run.sh

clean: ## remove the virtualenv and local data
	rm -rf $(VENV) data
