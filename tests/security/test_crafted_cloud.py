"""T7: a cloud whose Glance returns crafted ids, formats and hashes (H4, M5), both frameworks."""

from __future__ import annotations

import json

import pytest

from tests.security.fakes import CraftedCloud, region_body

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "/api/multicloud/v0/Evil_R1"
IMAGE = {
    "name": "_",
    "disk_format": "raw",
    "container_format": "bare",
    "status": "active",
    "size": 4,
    "visibility": "private",
}


@pytest.fixture
def cloud(override_settings, tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    override_settings(MULTICLOUD_IMAGE_EXPORT_DIR=str(export), MULTICLOUD_CLOUD_TIMEOUT="5")
    fake = CraftedCloud(dict(IMAGE))
    yield fake, export
    fake.close()


def _register(api, fake) -> None:
    answer = api.request("POST", f"{BASE}/registry", json.dumps(region_body(fake.url)).encode())
    assert answer.status == 202, answer.body


def _outside(tmp_path, export) -> list[str]:
    return sorted(
        str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if export not in (p, *p.parents)
    )


@pytest.mark.parametrize(
    "crafted",
    [
        {"id": "../../../../../../../../{tmp}/mc_pwned"},
        {"id": "x", "name": "foo", "disk_format": "x/../../mc_pwned2"},
        {"id": "x", "name": "../../mc_pwned3", "disk_format": "raw"},
    ],
)
def test_export_never_writes_outside_the_export_dir(api, cloud, tmp_path, crafted):
    fake, export = cloud
    before = _outside(tmp_path, export)
    fake.image.update({k: v.format(tmp=tmp_path) for k, v in crafted.items()})
    _register(api, fake)
    (export / "foo.x").mkdir()  # what the disk_format variant needs to exist
    answer = api.request("POST", f"{BASE}/p1/images/file/X", b'{"imagePath": "."}')
    assert answer.status == 200, answer.body
    assert _outside(tmp_path, export) == before
    written = [p for p in export.rglob("*") if p.is_file()]
    assert len(written) == 1 and written[0].read_bytes() == b"PWND"
    assert written[0].parent == export
    assert written[0].stat().st_mode & 0o077 == 0


def test_a_symlink_in_the_export_dir_is_not_followed(api, cloud, tmp_path):
    fake, export = cloud
    fake.image.update(id="x", name="foo", disk_format="raw")
    target = tmp_path / "victim"
    target.write_text("original")
    (export / "foo.raw").symlink_to(target)
    _register(api, fake)
    answer = api.request("POST", f"{BASE}/p1/images/file/X", b'{"imagePath": "."}')
    assert answer.status == 200
    assert target.read_text() == "original"
    assert not (export / "foo.raw").is_symlink()


def test_crafted_values_never_inject_headers(api, cloud):
    fake, _ = cloud
    fake.image.update(
        id="img3",
        name="foo",
        disk_format="raw\r\nSet-Cookie: injected=1; Path=/\r\nX-Injected: yes",
        os_hash_algo="sha512",
        os_hash_value="abc\r\nX-Injected-2: via-hash",
    )
    _register(api, fake)
    answer = api.request("GET", f"{BASE}/p1/images/file/img3")
    assert answer.status == 200
    assert "set-cookie" not in answer.headers
    assert not any(name.startswith("x-injected") for name in answer.headers)
    assert all("\n" not in v and "\r" not in v for v in answer.headers.values())
    assert answer.headers["content-disposition"].startswith('attachment; filename="foo.img"')
