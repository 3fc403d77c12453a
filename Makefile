# Multicloud developer entry points. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
# The test and development venv (runtime + test tools) and the runtime-only one `make run` uses.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN_VENV := .venv-run
RUN_STAMP := $(RUN_VENV)/.installed
# Hashed lock files, generated from requirements*.txt by `make lock` (pip-compile).
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
PIP_COMPILE = $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links

.PHONY: help venv run test test-quick test-deployment lock lint sandbox-up sandbox-down bench bench-proxy bench-regions bench-images clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): $(DEV_LOCK)
	$(PYTHON) tools/check_lock.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r $(DEV_LOCK)
	touch $(STAMP)

$(RUN_STAMP): $(LOCK)
	$(PYTHON) tools/check_lock.py
	$(PYTHON) -m venv $(RUN_VENV)
	$(RUN_VENV)/bin/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	touch $(RUN_STAMP)

venv: $(STAMP) ## create .venv from the lock (runtime and test dependencies, hashes checked)

# NOTE: a developer's run stays the calling user (MULTICLOUD_RUN_AS unless set); run.sh
# itself, started as root, becomes nobody (see README "Configuration").
run: $(RUN_STAMP) ## start the service on its defaults (port 9001) from a runtime-only venv; Ctrl-C stops it
	MULTICLOUD_RUN_AS="$${MULTICLOUD_RUN_AS:-$$(id -un)}" MULTICLOUD_PYTHON=$(RUN_VENV)/bin/python ./run.sh

# COVERAGE=1: the SQLite pass runs under coverage.py (run.sh servers and commands included,
# see [tool.coverage.run] in pyproject.toml), then reports and fails below the floor.
PYTEST = $(if $(COVERAGE),env COVERAGE_FILE=$(CURDIR)/.coverage $(VENV)/bin/coverage run -m pytest,$(PY) -m pytest)

test: $(STAMP) ## the whole suite; starts the OpenStack sandbox when it is not running (PostgreSQL too with TEST_DATABASE_URL; COVERAGE=1 measures)
	$(if $(COVERAGE),rm -f .coverage .coverage.*)
	PY=$(PY) PYTEST="$(PYTEST)" bash tools/run-tests.sh $(PYTEST_ARGS)
	$(if $(COVERAGE),$(VENV)/bin/coverage combine -q && $(VENV)/bin/coverage report)

test-quick: $(STAMP) ## every test that needs no OpenStack sandbox (no sandbox start)
	@echo "== test-quick: the sandbox tests are left out (make test runs them)"
	$(PY) -m pytest -m "not sandbox" $(PYTEST_ARGS)

test-deployment: $(STAMP) ## the scale-out harness alone (root: namespaces, HAProxy; sandbox, RabbitMQ), figures into bench/DEPLOYMENT.md
	MULTICLOUD_SANDBOX_STATE=$${MULTICLOUD_SANDBOX_STATE:-$(CURDIR)/.sandbox/state} \
	  DEPLOYMENT_REPORT=bench/DEPLOYMENT.md $(PY) -m pytest tests/deployment $(PYTEST_ARGS)

# NOTE: pip-tools comes from .venv; with a stale lock, build .venv from the old one first.
lock: ## regenerate the hashed lock files from requirements.txt and requirements-dev.txt
	@test -x $(VENV)/bin/pip-compile || { $(PYTHON) -m venv $(VENV) && \
	  $(PY) -m pip install --quiet pip-tools==7.6.2; }
	$(PIP_COMPILE) -o $(LOCK) requirements.txt
	$(PIP_COMPILE) -o $(DEV_LOCK) requirements-dev.txt
	@echo "locked; \`make venv\` installs from $(DEV_LOCK), \`make run\` from $(LOCK)"

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

bench-proxy: $(STAMP) ## proxy vs direct Nova/Glance, both modes (sandbox), write bench/PROXY.md
	bash bench/one.sh proxy.py $(BENCH_ARGS)

# the last commit before region records were cached per worker (measured side by side)
REGIONS_BASELINE ?= d4e7e9c

bench-regions: $(STAMP) ## region lookups vs vim_types CPU, both modes (sandbox), write bench/REGIONS.md
	bash bench/one.sh regions.py --baseline $(REGIONS_BASELINE) $(BENCH_ARGS)

bench-images: $(STAMP) ## image upload/download vs direct Glance, both modes (sandbox), write bench/IMAGES.md
	bash bench/one.sh images.py $(BENCH_ARGS)

clean: ## remove the virtualenvs and local data
	rm -rf $(VENV) $(RUN_VENV) data
