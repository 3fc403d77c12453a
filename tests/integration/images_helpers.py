"""Helpers for the image service tests: a registered sandbox region and clean-up."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import uuid
from pathlib import Path

import pytest

from multicloud.conf import get_settings
from multicloud.images import staging
from tests.integration.regions import region_body

V0 = "/api/multicloud/v0/osbox_{region}/{tenant}"
V1 = "/api/multicloud/v1/osbox/{region}/{tenant}"
MIB = 1 << 20


def unique_name(prefix: str = "mc-img") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def register(api, sandbox, region: str = "RegionOne") -> None:
    body = json.dumps(region_body(sandbox)).encode()
    answer = api.request("POST", f"/api/multicloud/v1/osbox/{region}/registry", body)
    assert answer.status == 202, answer.body


def write_file(path: Path, size: int, seed: int = 7) -> str:
    """A file of ``size`` pseudo-random bytes written in 1 MiB steps; its sha256."""
    digest = hashlib.sha256()
    block = hashlib.sha512(str(seed).encode()).digest() * (MIB // 64)
    with open(path, "wb") as out:
        left = size
        counter = 0
        while left > 0:
            chunk = (counter.to_bytes(8, "big") + block)[: min(MIB, left)]
            out.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
            counter += 1
    return digest.hexdigest()


def file_chunks(path: Path, size: int = MIB):
    with open(path, "rb") as handle:
        while chunk := handle.read(size):
            yield chunk


@pytest.fixture
def image_conf(tmp_path, monkeypatch):
    """Point the staging area at tmp_path; returns a setter for other image settings."""
    current = {
        "value": dataclasses.replace(get_settings().images, staging_dir=tmp_path / "staging")
    }
    monkeypatch.setattr(staging, "conf", lambda: current["value"])

    def change(**values):
        current["value"] = dataclasses.replace(current["value"], **values)
        return current["value"]

    change.staging_dir = tmp_path / "staging"
    return change


def staging_files(directory: Path) -> list[str]:
    return sorted(os.listdir(directory)) if directory.exists() else []


@pytest.fixture
def glance(sandbox, admin_session):
    """A glanceclient on the admin project; deletes every image whose name it was told about."""
    import glanceclient

    client = glanceclient.Client("2", session=admin_session, region_name=sandbox.region)
    names: list[str] = []
    client.track = names.append
    yield client
    for name in names:
        for image in client.images.list(filters={"name": name}):
            client.images.delete(image["id"])
