"""Cinder helpers for sandbox tests: make volumes, wait for states, delete them for good."""

from __future__ import annotations

import time
import uuid

from keystoneauth1 import exceptions as ks_exc

VOLUME_API = {"OpenStack-API-Version": "volume 3.27"}


class VolumeHelper:
    """Creates volumes through a keystoneauth session; cleanup() deletes what it made."""

    def __init__(self, session, region: str):
        self.session = session
        self.filter = {
            "service_type": "block-storage",
            "interface": "public",
            "region_name": region,
        }
        self.made: list[str] = []

    def call(self, method: str, path: str, **kw):
        return self.session.request(
            path, method, endpoint_filter=self.filter, headers=VOLUME_API, **kw
        )

    def create(self, size: int = 1, wait: bool = True, **extra) -> dict:
        body = {"volume": {"size": size, "name": f"mc-test-{uuid.uuid4().hex[:8]}", **extra}}
        volume = self.call("POST", "/volumes", json=body).json()["volume"]
        self.made.append(volume["id"])
        return self.wait_for(volume["id"], "available") if wait else volume

    def get(self, volume_id: str) -> dict | None:
        try:
            return self.call("GET", f"/volumes/{volume_id}").json()["volume"]
        except ks_exc.NotFound:
            return None

    def wait_for(self, volume_id: str, status: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            volume = self.get(volume_id)
            assert volume is not None, f"volume {volume_id} vanished waiting for {status}"
            if volume["status"] == status:
                return volume
            assert volume["status"] != "error" or status == "error", f"volume {volume_id} failed"
            assert time.monotonic() < deadline, f"volume {volume_id} is {volume['status']}"
            time.sleep(0.3)

    def delete(self, volume_id: str, timeout: float = 60) -> None:
        if self.get(volume_id) is None:
            return
        self.call("DELETE", f"/volumes/{volume_id}")
        deadline = time.monotonic() + timeout
        while self.get(volume_id) is not None:
            assert time.monotonic() < deadline, f"volume {volume_id} still there after {timeout}s"
            time.sleep(0.3)

    def cleanup(self) -> None:
        for volume_id in reversed(self.made):
            self.delete(volume_id)
        self.made.clear()
