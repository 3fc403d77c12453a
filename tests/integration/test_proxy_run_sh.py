"""The passthrough served by real run.sh processes (both modes) against the sandbox cloud.

* python-openstackclient, unmodified, pointed at the proxy's identity URL;
* the peak memory of the serving worker does not grow with the size of the
  image streamed through it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from tests.integration.proxy_helpers import auth_body
from tests.integration.regions import region_body
from tests.servers import Service

pytestmark = pytest.mark.sandbox

MODES = ("django", "pecan")
OPENSTACK = str(Path(sys.executable).with_name("openstack"))
MIB = 1024 * 1024


@pytest.fixture(params=MODES)
def proxy(request, tmp_path, sandbox):
    """A run.sh server in one mode, one worker, with the sandbox registered as osbox_RegionOne."""
    svc = Service(tmp_path, WEB_FRAMEWORK=request.param, MULTICLOUD_WORKERS="1")
    try:
        svc.wait_ready()
        answer = requests.post(
            f"{svc.url}/api/multicloud/v1/osbox/RegionOne/registry",
            json=region_body(sandbox),
            timeout=60,
        )
        assert answer.status_code == 202, answer.text
        yield svc
    finally:
        svc.stop()


def openstack(proxy, sandbox, tmp_path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(
        {
            "OS_AUTH_URL": f"{proxy.url}/api/multicloud/v0/osbox_RegionOne/identity/v3",
            "OS_IDENTITY_API_VERSION": "3",
            "OS_USERNAME": sandbox.admin.username,
            "OS_PASSWORD": sandbox.admin.password,
            "OS_PROJECT_NAME": sandbox.admin.project_name,
            "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default",
            "OS_REGION_NAME": sandbox.region,
            "HOME": str(tmp_path),  # no clouds.yaml or cache from the machine
        }
    )
    done = subprocess.run(
        [OPENSTACK, *args], env=env, capture_output=True, text=True, timeout=180, cwd=tmp_path
    )
    assert done.returncode == 0, f"openstack {' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout


def test_openstackclient_works_unmodified_through_the_proxy(proxy, sandbox, tmp_path, servers):
    assert "admin" in openstack(proxy, sandbox, tmp_path, "project", "list", "-f", "value")
    assert "fake-image" in openstack(proxy, sandbox, tmp_path, "image", "list", "-f", "value")
    assert "m1.tiny" in openstack(proxy, sandbox, tmp_path, "flavor", "list", "-f", "value")
    name = f"px-osc-{uuid.uuid4().hex[:6]}"
    server_id = openstack(
        proxy, sandbox, tmp_path,
        "--os-compute-api-version", "2.37", "server", "create", "--flavor", "m1.tiny",
        "--image", "fake-image", "--nic", "none", "--wait", name, "-f", "value", "-c", "id",
    ).strip()  # fmt: skip
    servers.booted.append(server_id)  # deleted for good at teardown if the test fails
    assert name in openstack(proxy, sandbox, tmp_path, "server", "list", "-f", "value")
    # NOTE: the sandbox soft-deletes; --force deletes for good, --wait sees it gone.
    openstack(proxy, sandbox, tmp_path, "server", "delete", "--force", "--wait", server_id)
    assert servers.get(server_id) is None

    source = tmp_path / "image.raw"
    source.write_bytes(os.urandom(3 * MIB + 17))
    image = f"px-osc-{uuid.uuid4().hex[:6]}"
    openstack(
        proxy, sandbox, tmp_path,
        "image", "create", "--disk-format", "raw", "--container-format", "bare",
        "--file", str(source), image,
    )  # fmt: skip
    try:
        copy = tmp_path / "copy.raw"
        openstack(proxy, sandbox, tmp_path, "image", "save", "--file", str(copy), image)
        assert copy.read_bytes() == source.read_bytes()
    finally:
        openstack(proxy, sandbox, tmp_path, "image", "delete", image)


# --------------------------------------------------------------------------- memory


def _peak_rss_kib(pids: set[int]) -> int:
    """The largest VmHWM (peak resident set) among ``pids``."""
    peaks = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]))
    return max(peaks)


def _chunks(path: Path):
    with path.open("rb") as source:
        while chunk := source.read(MIB):
            yield chunk


def _round_trip(base: str, token: str, path: Path, chunked: bool = False) -> None:
    """Upload ``path`` as a new image through the proxy, download it, compare, delete.

    ``chunked`` sends the body with ``Transfer-Encoding: chunked`` (no Content-Length).
    """
    auth = {"X-Auth-Token": token}
    meta = {"name": f"px-mem-{uuid.uuid4().hex[:6]}", "disk_format": "raw",
            "container_format": "bare"}  # fmt: skip
    created = requests.post(f"{base}/glance/v2/images", json=meta, headers=auth, timeout=60)
    assert created.status_code == 201, created.text
    image = f"{base}/glance/v2/images/{created.json()['id']}"
    try:
        with path.open("rb") as body:
            put = requests.put(
                f"{image}/file",
                data=_chunks(path) if chunked else body,
                headers={**auth, "Content-Type": "application/octet-stream"},
                timeout=300,
            )
        assert put.status_code == 204, put.text
        digest = hashlib.sha256()
        with requests.get(f"{image}/file", headers=auth, stream=True, timeout=300) as got:
            assert got.status_code == 200
            for chunk in got.iter_content(MIB):
                digest.update(chunk)
        expected = hashlib.sha256()
        with path.open("rb") as source:
            while chunk := source.read(MIB):
                expected.update(chunk)
        assert digest.hexdigest() == expected.hexdigest()
    finally:
        requests.delete(image, headers=auth, timeout=60)


def _random_file(path: Path, size: int) -> Path:
    with path.open("wb") as out:
        for _ in range(size // MIB):
            out.write(os.urandom(MIB))
    return path


def test_streaming_200_mib_both_ways_does_not_grow_the_workers_peak_memory(
    proxy, sandbox, tmp_path
):
    base = f"{proxy.url}/api/multicloud/v0/osbox_RegionOne"
    issued = requests.post(
        f"{base}/identity/v3/auth/tokens", json=auth_body(sandbox.admin), timeout=60
    )
    assert issued.status_code == 201
    token = issued.headers["X-Subject-Token"]
    workers = proxy.workers()
    assert workers
    small = _random_file(tmp_path / "small.raw", 20 * MIB)
    _round_trip(base, token, small)  # warm: imports, connections, first buffers
    after_small = _peak_rss_kib(workers)
    big = tmp_path / "big.raw"
    shutil.copyfile(small, big)
    with big.open("ab") as out:
        for _ in range(180):
            out.write(os.urandom(MIB))
    _round_trip(base, token, big)
    _round_trip(base, token, big, chunked=True)
    after_big = _peak_rss_kib(workers)
    growth_mib = (after_big - after_small) / 1024
    print(f"peak RSS (MiB): {after_small / 1024:.1f} after 20, {after_big / 1024:.1f} after 200")
    # NOTE: buffering would add at least 200 MiB; the chunks are 256 KiB.
    assert growth_mib < 24, f"peak RSS grew {growth_mib:.1f} MiB after streaming 200 MiB"
