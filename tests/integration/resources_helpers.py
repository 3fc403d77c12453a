"""Helpers for the typed API tests: a registered sandbox region and cleanup of what they make."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from multicloud.vims.models import CloudRegion
from tests.sandbox import ServerHelper

V0 = "/api/multicloud/v0/osbox_RegionOne"
PREFIXES = (
    V0,
    "/api/multicloud/v1/osbox/RegionOne",
    "/api/multicloud-vio/v0/osbox_RegionOne",
    "/api/multicloud-vio/v1/osbox/RegionOne",
)
DECORATION = {
    "vimId": "osbox_RegionOne",
    "vimName": "osbox_RegionOne",
    "cloud_owner": "osbox",
    "cloud_region_id": "RegionOne",
}


def unique(prefix: str = "mc") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def post(api, path: str, body) -> object:
    return api.request("POST", path, json.dumps(body).encode())


class Cloud:
    """Direct calls to the sandbox (to check what the API did) and cleanup of what was made."""

    def __init__(self, session, region: str):
        self.session = session
        self.region = region
        self.made: list[tuple[str, str]] = []  # (service type, path to DELETE)

    def _filter(self, service: str) -> dict:
        return {"service_type": service, "interface": "public", "region_name": self.region}

    def get(self, service: str, path: str, **kw):
        headers = {"OpenStack-API-Version": "compute 2.37"} if service == "compute" else {}
        return self.session.get(
            path, endpoint_filter=self._filter(service), headers=headers, raise_exc=False, **kw
        )

    def delete(self, service: str, path: str):
        return self.session.delete(path, endpoint_filter=self._filter(service), raise_exc=False)

    def track(self, service: str, path: str) -> None:
        self.made.append((service, path))

    def wait(self, service: str, path: str, key: str, done, timeout: float = 90):
        """Poll ``path`` until ``done(resource)``; the resource (None once it is gone)."""
        deadline = time.monotonic() + timeout
        while True:
            reply = self.get(service, path)
            found = reply.json()[key] if reply.status_code == 200 else None
            if done(found):
                return found
            if time.monotonic() > deadline:
                pytest.fail(f"{path} did not reach the wanted state in {timeout}s: {found}")
            time.sleep(0.5)

    def cleanup(self) -> None:
        for service, path in reversed(self.made):
            if path.startswith("/servers/"):
                # NOTE: the sandbox Nova soft-deletes; ServerHelper force-deletes those.
                ServerHelper(self.session, self.region).delete(path.rsplit("/", 1)[1])
                continue
            self.delete(service, path)
            if path.startswith("/volumes/"):
                self.wait("block-storage", path, "volume", lambda v: v is None)
        self.made.clear()


def add_region(sandbox) -> CloudRegion:
    """The sandbox as region osbox_RegionOne, stored directly (registration has its own tests)."""
    record = CloudRegion(
        cloud_owner="osbox",
        cloud_region_id="RegionOne",
        cloud_type="openstack",
        cloud_region_version="pike",
        identity_url=sandbox.auth_url,
        username=sandbox.admin.username,
        default_tenant=sandbox.admin.project_name,
        openstack_region_id=sandbox.region,
        discovery_status="done",
    )
    record.password = sandbox.admin.password
    record.save()
    return record


def wait_status(api, path: str, status: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        server = api.request("GET", path).json()
        if server.get("status") == status:
            return server
        assert server.get("status") != "ERROR", server
        assert time.monotonic() < deadline, f"{path} is {server.get('status')}, not {status}"
        time.sleep(0.5)


def boot(api, cloud, typed, **changes) -> tuple[dict, object]:
    body = {
        "name": unique("vm"),
        "flavorId": "m1.tiny",
        "boot": {"type": 2, "imageId": "fake-image"},
        "nicArray": [],
        **changes,
    }
    answer = post(api, f"{typed}/servers", body)
    if answer.status == 202:
        cloud.track("compute", f"/servers/{answer.json()['id']}")
    return body, answer
