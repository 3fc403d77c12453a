"""Helpers to register sandbox regions through the API under test."""

from __future__ import annotations

import time

import pytest


def region_body(sandbox, creds=None, **esr_changes) -> dict:
    creds = creds or sandbox.admin
    esr = {
        "esr-system-info-id": "sandbox",
        "system-name": "osbox",
        "type": "vim",
        "service-url": sandbox.auth_url,
        "user-name": creds.username,
        "password": creds.password,
        "default-tenant": creds.project_name,
        "cloud-domain": "Default",
        "ssl-insecure": False,
        "system-type": "VIM",
    }
    esr.update(esr_changes)
    return {
        "cloud-type": "openstack",
        "cloud-region-version": "pike",
        "cloud-zone": "loopback",
        "cloud-extra-info": f'{{"openstack-region-id": "{sandbox.region}"}}',
        "esr-system-info-list": {"esr-system-info": [esr]},
    }


def wait_discovered(api, path: str, timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = api.request("GET", path).json()
        if state["registry"]["status"] in ("done", "failed"):
            return state
        time.sleep(0.3)
    pytest.fail(f"discovery of {path} did not finish in {timeout}s")
