#!/usr/bin/env bash
# The whole test suite, as `make test` runs it (see README "Testing"):
#   1. the OpenStack sandbox: used when it answers, else started here (about 4 minutes the
#      first time on this 2-core machine, while it installs its virtualenv; about a minute
#      after) and left running for the next run (`make sandbox-down` stops it);
#   2. every test on SQLite, but the deployment harness (tests/deployment);
#   3. with TEST_DATABASE_URL=postgresql://..., every test again on PostgreSQL, and the
#      deployment harness (replicas in network namespaces behind HAProxy, on a private
#      PostgreSQL of its own: it runs once, in this pass; `make test-deployment` alone).
# Extra arguments go to pytest. Exits non-zero when a pass fails.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PY:-.venv/bin/python}
# The SQLite pass's command (make test COVERAGE=1 runs it under coverage.py).
pytest_cmd=${PYTEST:-$py -m pytest}
export MULTICLOUD_SANDBOX_STATE=${MULTICLOUD_SANDBOX_STATE:-$PWD/.sandbox/state}

sandbox_up() {
  "$py" - "$MULTICLOUD_SANDBOX_STATE" <<'PY'
import sys
from pathlib import Path
from tests.sandbox import SandboxUnavailable, load_sandbox
try:
    load_sandbox(Path(sys.argv[1]))
except SandboxUnavailable:
    sys.exit(1)
PY
}

if sandbox_up; then
  echo "== OpenStack sandbox: running ($MULTICLOUD_SANDBOX_STATE)"
else
  echo "== OpenStack sandbox: not running; starting it (about 4 minutes the first time, while it installs its virtualenv; about 1 minute after)"
  started=$(date +%s)
  bash tools/openstack-sandbox.sh "$MULTICLOUD_SANDBOX_STATE"
  echo "== OpenStack sandbox: up in $(( $(date +%s) - started )) s (left running; make sandbox-down stops it)"
fi

echo "== tests on SQLite (the deployment harness runs in the PostgreSQL pass)"
# shellcheck disable=SC2086 # the command is words on purpose
env $pytest_cmd --ignore=tests/deployment "$@"
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "== tests again on PostgreSQL (TEST_DATABASE_URL), the deployment harness included"
  DATABASE_URL="$TEST_DATABASE_URL" "$py" -m pytest "$@"
fi
