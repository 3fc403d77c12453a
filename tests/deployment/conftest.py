"""The deployment, started once per session and shared by every scenario.

Needs root (namespaces, nftables, apt-get, a private PostgreSQL cluster run as the
postgres user), RabbitMQ and the OpenStack sandbox. Without one of them the scenarios
skip with the reason, and fail under CI=true.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import pytest
import requests

from tests.deployment.harness import (
    FAR,
    NEAR,
    OWNER,
    Deployment,
    Figures,
    wait_until,
)
from tests.doubles.dmaap_mr import FakeMessageRouter
from tests.integration import rabbit
from tests.integration.regions import region_body
from tests.missing import missing

#: The figures of this session, and where its logs are, for the terminal summary.
FIGURES = Figures()
WORKDIRS: list[Path] = []


def _unavailable(reason: str) -> NoReturn:
    missing(f"deployment harness not runnable: {reason}")


def _requirements() -> None:
    """Skips (fails under CI) when the machine cannot host the deployment."""
    if os.geteuid() != 0:
        _unavailable("needs root (network namespaces, nftables, apt-get, runuser)")
    for command in ("ip", "psql", "runuser"):
        if shutil.which(command) is None:
            _unavailable(f"needs the {command} command")


def _report_header(deployment: Deployment, wall: float) -> str:
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({os.cpu_count()} cores; load average at the end {load}): deployment session "
        f"{wall:.0f} s wall time, of which the harness start {deployment.started_in:.0f} s. "
        f"Peak PostgreSQL sessions of the replicas and listeners: {deployment.peak_connections}."
    )


@pytest.fixture(scope="session")
def deployment(request, tmp_path_factory, sandbox):
    _requirements()
    started = time.monotonic()
    with rabbit.private_broker() as broker, FakeMessageRouter() as mr:
        workdir = tmp_path_factory.mktemp("deployment")
        WORKDIRS.append(workdir)
        deployment = Deployment(workdir, sandbox, broker, mr, FIGURES)
        try:
            deployment.start()
            yield deployment
        finally:
            deployment.stop()
    report = os.environ.get("DEPLOYMENT_REPORT")
    # NOTE: only a whole, green run replaces the report's figures.
    if report and request.session.testsfailed == 0 and len(FIGURES.sections) == _scenarios():
        FIGURES.write(Path(report), _report_header(deployment, time.monotonic() - started))


def _scenarios() -> int:
    """How many scenarios the package has (each records one section of figures)."""
    here = Path(__file__).parent
    return sum(
        len(re.findall(r"^def test_", path.read_text(), re.MULTILINE))
        for path in here.glob("test_*.py")
    )


def _register(deployment: Deployment, region: str, service_url: str) -> None:
    path = f"/api/multicloud/v1/{OWNER}/{region}/registry"
    body = region_body(deployment.sandbox, **{"service-url": service_url})
    answer = requests.post(
        deployment.url + path, json=body, headers=deployment.headers(), timeout=60
    )
    assert answer.status_code == 202, answer.text

    def discovered() -> bool:
        state = requests.get(deployment.url + path, headers=deployment.headers(), timeout=30)
        return state.json()["registry"]["status"] in ("done", "failed")

    wait_until(discovered, 120, f"discovery of {region}", every=0.5)


@pytest.fixture(scope="session")
def regions(deployment):
    """Two regions of the same sandbox: ``near`` through 127.0.0.1 like its catalog, ``far``
    through the machine's second bridge address (a cloud path that can be cut alone)."""
    assert deployment.net is not None
    far_url = f"http://{deployment.net.second_address}:{deployment.sandbox_keystone_port}/v3"
    _register(deployment, NEAR, deployment.sandbox.auth_url)
    _register(deployment, FAR, far_url)
    prefixes = {region: f"/api/multicloud/v1/{OWNER}/{region}" for region in (NEAR, FAR)}
    deployment.warm([f"{prefixes[NEAR]}/admin/flavors"])
    return prefixes


@pytest.fixture(autouse=True)
def healthy(request):
    """Each scenario starts from a whole deployment: faults healed, the database open,
    every replica running and in rotation, both listeners consuming."""
    if "deployment" in request.fixturenames:
        request.getfixturevalue("deployment").heal()


def pytest_terminal_summary(terminalreporter):
    if FIGURES.sections:
        terminalreporter.section("deployment figures (bench/DEPLOYMENT.md)")
        terminalreporter.write_line(FIGURES.text())
    for workdir in WORKDIRS:
        terminalreporter.write_line(f"deployment logs (replicas, HAProxy): {workdir}")
