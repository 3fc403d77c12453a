"""The image service through a real run.sh server in each mode: big, chunked, bounded memory."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
import requests

from tests.integration.images_helpers import MIB, file_chunks, unique_name, write_file
from tests.integration.regions import region_body
from tests.servers import Service

pytestmark = pytest.mark.sandbox
MODES = ("django", "pecan")


#: MULTICLOUD_REQUEST_TIMEOUT of these servers: seconds a transfer may make no progress.
NO_PROGRESS = 3


@pytest.fixture(params=MODES)
def server(request, tmp_path, sandbox):
    svc = Service(
        tmp_path,
        WEB_FRAMEWORK=request.param,
        MULTICLOUD_WORKERS="1",
        MULTICLOUD_IMAGE_STAGING_RETENTION="0",
        MULTICLOUD_REQUEST_TIMEOUT=str(NO_PROGRESS),
    )
    svc.wait_ready()
    answer = requests.post(
        f"{svc.url}/api/multicloud/v1/osbox/RegionOne/registry",
        json=region_body(sandbox),
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    svc.base = f"{svc.url}/api/multicloud/v0/osbox_RegionOne/{sandbox.admin.project_name}"
    svc.mode = request.param
    yield svc
    svc.stop()


@pytest.fixture
def cleanup(sandbox, admin_session):
    import glanceclient

    client = glanceclient.Client("2", session=admin_session, region_name=sandbox.region)
    ids: list[str] = []
    yield ids
    for image_id in ids:
        client.images.delete(image_id)


def peak_rss_kib(svc: Service) -> int:
    """The largest VmHWM among the server's worker processes."""
    peaks = []
    for pid in svc.workers():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]))
    return max(peaks)


class Trickle:
    """A file sent with its Content-Length in ``pieces``, pausing ``pause`` s before each."""

    def __init__(self, path: Path, pieces: int, pause: float):
        self.file = open(path, "rb")  # noqa: SIM115 (closed by round_trip)
        self.size = path.stat().st_size
        self.step = -(-self.size // pieces)
        self.pause = pause
        self.next_pause = 0

    def __len__(self) -> int:
        return self.size

    def read(self, size: int = -1) -> bytes:
        if self.file.tell() >= self.next_pause:
            time.sleep(self.pause)
            self.next_pause += self.step
        return self.file.read(min(size, self.step) if size > 0 else self.step)


def round_trip(svc: Service, path: Path, chunked: bool, cleanup: list, pause: float = 0) -> dict:
    """Upload then download ``path``; with ``pause``, both move slowly (8 pieces, paused)."""
    name = unique_name("mc-big")
    url = f"{svc.base}/images/file?name={name}&imageType=raw"
    headers = {"Content-Type": "application/octet-stream"}
    started = time.monotonic()
    if chunked:
        answer = requests.post(url, data=file_chunks(path), headers=headers, timeout=600)
    else:
        body = Trickle(path, 8, pause) if pause else open(path, "rb")  # noqa: SIM115
        with body.file if pause else body:
            answer = requests.post(url, data=body, headers=headers, timeout=600)
    assert answer.status_code == 201, answer.text
    image = answer.json()
    image["upload_seconds"] = time.monotonic() - started
    cleanup.append(image["id"])
    digest = hashlib.sha256()
    started = time.monotonic()
    piece = -(-path.stat().st_size // 8) if pause else MIB
    with requests.get(f"{svc.base}/images/file/{image['id']}", stream=True, timeout=600) as got:
        assert got.status_code == 200
        assert int(got.headers["Content-Length"]) == path.stat().st_size
        for chunk in got.iter_content(piece):
            digest.update(chunk)
            time.sleep(pause)
    image["download_seconds"] = time.monotonic() - started
    image["downloaded_sha256"] = digest.hexdigest()
    return image


def test_200_mib_round_trip_with_bounded_server_memory(server, tmp_path, cleanup):
    small, big = tmp_path / "small.raw", tmp_path / "big.raw"
    small_sha = write_file(small, 20 * MIB, seed=1)
    big_sha = write_file(big, 200 * MIB, seed=2)
    # H5/T6: an image moving for longer than the no-progress timeout is never cut.
    first = round_trip(server, small, chunked=False, cleanup=cleanup, pause=0.6)
    assert first["downloaded_sha256"] == small_sha
    assert min(first["upload_seconds"], first["download_seconds"]) > NO_PROGRESS
    after_small = peak_rss_kib(server)
    image = round_trip(server, big, chunked=True, cleanup=cleanup)
    after_big = peak_rss_kib(server)
    assert image["downloaded_sha256"] == big_sha and image["size"] == 200 * MIB
    # 180 MiB more went through; the peak may move by a few buffers, not by the image.
    assert after_big - after_small < 24 * 1024, (server.mode, after_small, after_big)
    print(f"{server.mode}: VmHWM {after_small} KiB after 20 MiB, {after_big} KiB after 200 MiB")


def test_a_chunked_upload_over_the_cap_leaves_nothing_behind(tmp_path, sandbox, cleanup):
    for mode in MODES:
        svc = Service(
            tmp_path, WEB_FRAMEWORK=mode, MULTICLOUD_WORKERS="1", MULTICLOUD_IMAGE_MAX_SIZE="8M"
        )
        svc.wait_ready()
        try:
            requests.post(
                f"{svc.url}/api/multicloud/v1/osbox/RegionOne/registry",
                json=region_body(sandbox),
                timeout=30,
            ).raise_for_status()
            name = unique_name("mc-cap")
            url = (
                f"{svc.url}/api/multicloud/v0/osbox_RegionOne/{sandbox.admin.project_name}"
                f"/images/file?name={name}&imageType=raw"
            )
            body = (b"\0" * MIB for _ in range(20))
            answer = requests.post(
                url, data=body, timeout=60, headers={"Content-Type": "application/octet-stream"}
            )
            assert answer.status_code == 413, (mode, answer.text)
            staging = tmp_path / "data" / "images"
            assert not staging.exists() or list(staging.iterdir()) == []
            listed = requests.get(f"{url.split('/file?')[0]}?name={name}", timeout=30).json()
            assert listed["images"] == []
        finally:
            svc.stop()
