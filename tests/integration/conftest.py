"""Integration-test configuration: exposes the OpenStack sandbox fixtures (tests/sandbox.py)."""

import sys
from pathlib import Path

_REPO = str(Path(__file__).resolve().parents[2])
if _REPO not in sys.path:  # `tests` is not installed; make `import tests.sandbox` work
    sys.path.insert(0, _REPO)

from tests.sandbox import *  # noqa: E402,F401,F403


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sandbox: needs the OpenStack sandbox (tools/openstack-sandbox.sh)"
    )
