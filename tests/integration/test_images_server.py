"""The image service through a real run.sh server in each mode: big, chunked, bounded memory."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import requests

from tests.integration.images_helpers import MIB, file_chunks, unique_name, write_file
from tests.integration.regions import region_body
from tests.servers import Service

pytestmark = pytest.mark.sandbox
MODES = ("django", "pecan")


@pytest.fixture(params=MODES)
def server(request, tmp_path, sandbox):
    svc = Service(
        tmp_path,
        WEB_FRAMEWORK=request.param,
        MULTICLOUD_WORKERS="1",
        MULTICLOUD_IMAGE_STAGING_RETENTION="0",
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


def round_trip(svc: Service, path: Path, chunked: bool, cleanup: list) -> dict:
    name = unique_name("mc-big")
    url = f"{svc.base}/images/file?name={name}&imageType=raw"
    headers = {"Content-Type": "application/octet-stream"}
    if chunked:
        answer = requests.post(url, data=file_chunks(path), headers=headers, timeout=600)
    else:
        with open(path, "rb") as body:
            answer = requests.post(url, data=body, headers=headers, timeout=600)
    assert answer.status_code == 201, answer.text
    image = answer.json()
    cleanup.append(image["id"])
    digest = hashlib.sha256()
    with requests.get(f"{svc.base}/images/file/{image['id']}", stream=True, timeout=600) as got:
        assert got.status_code == 200
        assert int(got.headers["Content-Length"]) == path.stat().st_size
        for chunk in got.iter_content(MIB):
            digest.update(chunk)
    image["downloaded_sha256"] = digest.hexdigest()
    return image


def test_200_mib_round_trip_with_bounded_server_memory(server, tmp_path, cleanup):
    small, big = tmp_path / "small.raw", tmp_path / "big.raw"
    small_sha = write_file(small, 20 * MIB, seed=1)
    big_sha = write_file(big, 200 * MIB, seed=2)
    first = round_trip(server, small, chunked=False, cleanup=cleanup)
    assert first["downloaded_sha256"] == small_sha
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
