"""Helpers for the ESR flow tests: a region as ESR writes it into A&AI, an onap.* flavor."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.doubles.aai import FakeAai

OWNER = "osbox"
REGION = "RegionOne"
CR = f"/cloud-infrastructure/cloud-regions/cloud-region/{OWNER}/{REGION}"
ESR = f"{CR}/esr-system-info-list/esr-system-info/esr-osbox"
COMPUTE = {"service_type": "compute", "interface": "public"}


def esr_writes_the_region(aai: FakeAai, sandbox, creds=None, **esr_changes) -> None:
    """What ESR puts into A&AI before it calls the registry: the region and its credentials."""
    creds = creds or sandbox.admin
    aai.seed(
        CR,
        {
            "cloud-type": "openstack",
            "cloud-region-version": "pike",
            "owner-defined-type": "t1",
            "cloud-zone": "loopback",
            "complex-name": "clli1",
            "cloud-extra-info": f'{{"openstack-region-id": "{sandbox.region}"}}',
        },
    )
    esr = {
        "esr-system-info-id": "esr-osbox",
        "system-name": "osbox",
        "type": "vim",
        "service-url": sandbox.auth_url,
        "user-name": creds.username,
        "password": creds.password,
        "default-tenant": creds.project_name,
        "cloud-domain": "Default",
        "ssl-insecure": False,
        "system-type": "VIM",
        **esr_changes,
    }
    aai.seed(ESR, esr)


def wait_job(api, base: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = api.request("GET", f"{base}/registry").json()
        if state["registry"]["status"] in ("done", "failed"):
            return state
        time.sleep(0.3)
    pytest.fail(f"the registration job of {base} did not end in {timeout}s")


class OnapFlavor:
    """An ``onap.*`` flavor with HPA extra specs in the sandbox cloud (deleted at the end)."""

    SPECS = {"hw:cpu_policy": "dedicated", "hw:mem_page_size": "large", "hw:numa_nodes": "1"}

    def __init__(self, session):
        self.session = session
        self.name = f"onap.hpa.{uuid.uuid4().hex[:8]}"
        body = {"flavor": {"name": self.name, "ram": 256, "vcpus": 1, "disk": 1}}
        self.id = session.post("/flavors", json=body, endpoint_filter=COMPUTE).json()["flavor"][
            "id"
        ]
        session.post(
            f"/flavors/{self.id}/os-extra_specs",
            json={"extra_specs": self.SPECS},
            endpoint_filter=COMPUTE,
        )
        self.deleted = False

    def delete(self) -> None:
        if not self.deleted:
            self.session.delete(f"/flavors/{self.id}", endpoint_filter=COMPUTE, raise_exc=False)
            self.deleted = True
