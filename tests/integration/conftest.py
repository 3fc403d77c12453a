"""Integration-test configuration: exposes the OpenStack sandbox fixtures (tests/sandbox.py)."""

import contextlib
import sys
from pathlib import Path

import pytest

_REPO = str(Path(__file__).resolve().parents[2])
if _REPO not in sys.path:  # `tests` is not installed; make `import tests.sandbox` work
    sys.path.insert(0, _REPO)

from tests.sandbox import *  # noqa: E402,F401,F403


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sandbox: needs the OpenStack sandbox (tools/openstack-sandbox.sh)"
    )


BIG_FILE = 1 << 20


@pytest.fixture(autouse=True)
def _remove_big_temporary_files(request):
    """Image tests write 100-200 MiB files into tmp_path: delete them when the test ends.

    (pytest keeps the temporary directories of the last runs; small files stay for
    post-mortems, big ones would fill the disk.)
    """
    # NOTE: asked for before the test, so tmp_path is torn down after this fixture.
    tmp = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if tmp is None:
        return
    for path in tmp.rglob("*"):
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_size >= BIG_FILE:
                path.unlink()
