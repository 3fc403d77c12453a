"""Helpers for the image service tests: a registered sandbox region and clean-up."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

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


def staging_files(directory: Path) -> list[str]:
    return sorted(os.listdir(directory)) if directory.exists() else []
