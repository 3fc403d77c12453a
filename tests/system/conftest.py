"""System-test fixtures: run.sh started as a real process."""

from __future__ import annotations

import pytest

from tests.servers import Service


@pytest.fixture
def service(tmp_path):
    """``service(**env)``: run.sh started and answering; stopped after the test if still up."""
    started = []

    def start(**env: str) -> Service:
        svc = Service(tmp_path, **env)
        started.append(svc)
        svc.wait_ready()
        return svc

    yield start
    for svc in started:
        if svc.proc.poll() is None:
            svc.stop()
