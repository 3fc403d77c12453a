"""The image service against the sandbox Glance, in-process in both web frameworks."""

from __future__ import annotations

import hashlib
import json

import pytest

from multicloud.images.models import PendingImage, StagedImage
from tests.integration.images_helpers import (
    V0,
    V1,
    register,
    unique_name,
)

pytestmark = [pytest.mark.sandbox, pytest.mark.django_db(transaction=True)]


def multipart(fields: dict, data: bytes, filename: str = "disk.qcow2") -> tuple[bytes, str]:
    boundary = "mcboundary1234"
    parts = []
    for key, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def base(api, sandbox, image_conf, glance):
    register(api, sandbox)
    return V1.format(region="RegionOne", tenant=sandbox.admin.project_name)


def upload(api, base, glance, data: bytes, **fields):
    name = fields.setdefault("name", unique_name())
    glance.track(name)
    body, content_type = multipart(fields, data)
    return api.request("POST", f"{base}/images/file", body, content_type=content_type)


def test_a_multipart_upload_becomes_an_active_glance_image_with_our_digests(
    api,
    base,
    glance,
    image_conf,
):
    data = bytes(range(256)) * 4096
    answer = upload(
        api, base, glance, data, imageType="raw", properties='{"vmware_ostype": "otherGuest"}'
    )
    assert answer.status == 201, answer.body
    image = answer.json()
    assert image["status"] == "active" and image["size"] == len(data)
    assert image["imageType"] == "raw" and image["containerFormat"] == "bare"
    assert image["properties"] == {"vmware_ostype": "otherGuest"}
    assert image["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert image["checksum"] == hashlib.md5(data).hexdigest()  # noqa: S324
    assert image["vimId"] == "osbox_RegionOne" and image["returnCode"] == 1
    staged = StagedImage.objects.get(pk=image["stagingId"])
    assert (staged.hash_algo, staged.hash_value) == ("sha512", hashlib.sha512(data).hexdigest())
    assert not PendingImage.objects.exists()  # verified: nothing for a start-up sweep


def test_a_raw_body_with_metadata_in_the_query_is_uploaded(api, base, glance):
    name = unique_name()
    glance.track(name)
    answer = api.request(
        "POST",
        f"{base}/images/file?name={name}&imageType=raw&visibility=private",
        b"x" * 5000,
        content_type="application/octet-stream",
    )
    assert answer.status == 201, answer.body
    assert answer.json()["name"] == name and answer.json()["visibility"] == "private"


def test_download_streams_the_bytes_with_headers_and_ranges(api, base, glance):
    data = hashlib.sha512(b"seed").digest() * 2048
    image = upload(api, base, glance, data, imageType="raw").json()
    path = f"{base}/images/file/{image['id']}"
    whole = api.request("GET", path)
    assert whole.status == 200 and whole.body == data
    assert whole.headers["content-type"] == "application/octet-stream"
    assert whole.headers["content-length"] == str(len(data))
    assert whole.headers["content-disposition"].startswith(
        f'attachment; filename="{image["name"]}.raw"'
    )
    assert whole.headers["x-image-meta-checksum"] == hashlib.md5(data).hexdigest()  # noqa: S324
    assert whole.headers["x-image-hash-value"] == hashlib.sha512(data).hexdigest()
    head = api.request("HEAD", path)
    assert head.status == 200 and head.body == b""
    assert head.headers["content-length"] == str(len(data))
    part = api.request("GET", path, headers={"Range": "bytes=100-1099"})
    assert part.status == 206 and part.body == data[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    tail = api.request("GET", path, headers={"Range": "bytes=-10"})
    assert tail.status == 206 and tail.body == data[-10:]
    beyond = api.request("GET", path, headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status == 416
    assert beyond.headers["content-range"] == f"bytes */{len(data)}"


def test_downloading_an_image_without_data_is_409_and_an_unknown_one_404(api, base, glance):
    """The bytes are asked for while the record is read: neither answer leaks that request."""
    name = unique_name()
    glance.track(name)
    queued = glance.images.create(name=name, disk_format="raw", container_format="bare")
    for method in ("GET", "HEAD"):
        answer = api.request(method, f"{base}/images/file/{queued['id']}")
        assert answer.status == 409, answer.body
        if method == "GET":
            assert "not active" in answer.json()["error"]
    missing = api.request("GET", f"{base}/images/file/0c2f0d57-0000-4000-8000-000000000000")
    assert missing.status == 404 and "error" in missing.json()
    ranged = api.request(
        "GET", f"{base}/images/file/{queued['id']}", headers={"Range": "bytes=0-9"}
    )
    assert ranged.status == 409


def test_list_get_and_delete(api, base, glance):
    image = upload(api, base, glance, b"abc" * 100, imageType="raw").json()
    listed = api.request("GET", f"{base}/images?name={image['name']}&limit=5").json()
    assert [i["id"] for i in listed["images"]] == [image["id"]]
    assert listed["tenantId"] == "admin" and listed["cloud_region_id"] == "RegionOne"
    one = api.request("GET", f"{base}/images/{image['id']}")
    assert one.status == 200 and one.json()["name"] == image["name"]
    assert api.request("DELETE", f"{base}/images/{image['id']}").status == 204
    assert api.request("GET", f"{base}/images/{image['id']}").status == 404


def test_the_file_path_is_not_taken_for_an_image_id(api, base):
    answer = api.request("GET", f"{base}/images/file")
    assert answer.status == 405 and answer.headers["allow"] == "POST"


def test_a_staged_copy_is_distributed_without_resending_the_bytes(
    api,
    base,
    glance,
    sandbox,
):
    first = upload(api, base, glance, b"z" * 300_000, imageType="raw").json()
    register(api, sandbox, region="Second")
    other = V0.format(region="Second", tenant=sandbox.admin.project_name)
    body = json.dumps({"source": {"vimid": "osbox_RegionOne", "imageId": first["id"]}})
    answer = api.request("POST", f"{other}/images/file", body.encode())
    assert answer.status == 201, answer.body
    copy = answer.json()
    assert copy["id"] != first["id"] and copy["vimId"] == "osbox_Second"
    assert copy["os_hash_value"] == first["os_hash_value"] and copy["name"] == first["name"]
    by_id = json.dumps({"stagingId": first["stagingId"], "name": first["name"]}).encode()
    again = api.request("POST", f"{other}/images/file", by_id)
    assert again.status == 201 and again.json()["stagingId"] == first["stagingId"]


def test_image_bytes_in_and_out_are_counted(api, base, glance):
    from tests.metrics_text import value

    def counted(direction: str) -> float:
        text = api.request("GET", "/metrics").body.decode()
        return value(text, "multicloud_image_bytes_total", direction=direction)

    name = unique_name()
    glance.track(name)
    received, sent = counted("in"), counted("out")
    data = b"y" * 70000
    answer = api.request(
        "POST",
        f"{base}/images/file?name={name}&imageType=raw",
        data,
        content_type="application/octet-stream",
    )
    assert answer.status == 201, answer.body
    assert counted("in") - received == len(data)
    path = f"{base}/images/file/{answer.json()['id']}"
    assert api.request("GET", path).body == data
    assert api.request("GET", path, headers={"Range": "bytes=0-99"}).status == 206
    assert counted("out") - sent == len(data) + 100
