"""openstackclient, unmodified, through the identity-url A&AI holds after an ESR registration.

A real run.sh server (each web framework) in ``aai`` registry mode against the A&AI
double; the sandbox cloud is registered the ONAP way (A&AI first, then an empty POST).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.doubles.aai import FakeAai
from tests.integration.aai_helpers import CR, esr_writes_the_region
from tests.servers import Service

pytestmark = pytest.mark.sandbox

OPENSTACK = str(Path(sys.executable).with_name("openstack"))


@pytest.fixture(params=("django", "pecan"))
def server(request, tmp_path, sandbox):
    with FakeAai(version=19) as aai:
        esr_writes_the_region(aai, sandbox)
        svc = Service(
            tmp_path,
            WEB_FRAMEWORK=request.param,
            MULTICLOUD_WORKERS="1",
            MULTICLOUD_REGISTRY="aai",
            AAI_URL=aai.url,
            AAI_SCHEMA_VERSION="v19",
            AAI_USERNAME="AAI",
            AAI_PASSWORD="AAI",
        )
        try:
            svc.wait_ready()
            yield svc, aai
        finally:
            svc.stop()


def wait_done(url: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = requests.get(url, timeout=10).json()
        if state["registry"]["status"] in ("done", "failed"):
            return state
        time.sleep(0.5)
    pytest.fail(f"registration did not end in {timeout}s")


def openstack(auth_url: str, sandbox, tmp_path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(
        {
            "OS_AUTH_URL": auth_url,
            "OS_IDENTITY_API_VERSION": "3",
            "OS_USERNAME": sandbox.admin.username,
            "OS_PASSWORD": sandbox.admin.password,
            "OS_PROJECT_NAME": sandbox.admin.project_name,
            "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default",
            "OS_REGION_NAME": sandbox.region,
            "HOME": str(tmp_path),
        }
    )
    done = subprocess.run(
        [OPENSTACK, *args], env=env, capture_output=True, text=True, timeout=180, cwd=tmp_path
    )
    assert done.returncode == 0, f"openstack {' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout


def test_openstackclient_works_through_the_identity_url_aai_holds(server, sandbox, tmp_path):
    svc, aai = server
    registry = f"{svc.url}/api/multicloud/v0/osbox_RegionOne/registry"
    answer = requests.post(registry, timeout=30)  # ESR's call: no body at all
    assert answer.status_code == 202, answer.text
    state = wait_done(registry)
    assert state["registry"]["status"] == "done", state["registry"]
    identity_url = aai.get(CR)["identity-url"]
    assert identity_url == f"{svc.url}/api/multicloud/v1/osbox/RegionOne/identity/v3"
    assert aai.get(CR)["in-maint"] is False  # v19: the required defaults were kept
    assert "admin" in openstack(identity_url, sandbox, tmp_path, "project", "list", "-f", "value")
    flavors = openstack(identity_url, sandbox, tmp_path, "flavor", "list", "-f", "value")
    assert "m1.tiny" in flavors
    assert "fake-image" in openstack(
        identity_url, sandbox, tmp_path, "image", "list", "-f", "value"
    )
