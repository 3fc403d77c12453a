"""The hashed lock files pin every requirement (``make lock`` regenerates them)."""

import importlib.util

from tests.servers import ROOT


def _check_lock():
    spec = importlib.util.spec_from_file_location("check_lock", ROOT / "tools" / "check_lock.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_requirement_is_in_its_lock_file():
    assert _check_lock().missing() == []


def test_every_locked_package_has_hashes():
    for name in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / name).read_text()
        entries = [line for line in text.splitlines() if "==" in line and not line.startswith("#")]
        assert entries
        assert text.count("--hash=sha256:") >= len(entries), name
