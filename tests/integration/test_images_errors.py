"""Image service error codes and clean-up, against the sandbox, in both web frameworks."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import socket
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session

from multicloud.images import pending
from multicloud.images import service as images
from multicloud.images.metadata import parse_meta
from multicloud.images.models import PendingImage
from multicloud.images.pipeline import Pipeline
from multicloud.vims import service as vims
from multicloud.vims.models import CloudRegion
from tests.integration.images_helpers import (
    V1,
    register,
    staging_files,
    unique_name,
)
from tests.integration.regions import region_body

pytestmark = [pytest.mark.sandbox, pytest.mark.django_db(transaction=True)]
RAW = "application/octet-stream"


@pytest.fixture
def base(api, sandbox, image_conf, glance):
    register(api, sandbox)
    return V1.format(region="RegionOne", tenant=sandbox.admin.project_name)


def post_raw(api, base, glance, data: bytes, query: str = "imageType=raw"):
    name = unique_name()
    glance.track(name)
    answer = api.request("POST", f"{base}/images/file?name={name}&{query}", data, content_type=RAW)
    return answer, name


def glance_names(glance, name):
    return list(glance.images.list(filters={"name": name}))


def test_unknown_region_and_project_are_404(api, base, sandbox):
    answer = api.request("GET", V1.format(region="Nowhere", tenant="admin") + "/images")
    assert answer.status == 404 and "not registered" in answer.json()["error"]
    answer = api.request("GET", V1.format(region="RegionOne", tenant="no-such-project") + "/images")
    assert answer.status == 404 and "no-such-project" in answer.json()["error"]


def test_bad_formats_and_metadata_are_400_and_nothing_is_staged(api, base, glance, image_conf):
    for query in (
        "imageType=exe",
        "imageType=raw&containerFormat=zip",
        "imageType=raw&properties=notjson",
        "imageType=raw&visibility=everyone",
    ):
        answer, name = post_raw(api, base, glance, b"x" * 100, query)
        assert answer.status == 400, (query, answer.body)
        assert not glance_names(glance, name)
    assert staging_files(image_conf.staging_dir) == []


def test_data_that_is_not_the_declared_format_is_400_and_cleaned_up(api, base, glance, image_conf):
    answer, name = post_raw(api, base, glance, b"not a qcow2" * 100, "imageType=qcow2")
    assert answer.status == 400, answer.body
    assert not glance_names(glance, name)
    assert staging_files(image_conf.staging_dir) == []


def test_an_image_over_the_cap_is_413_and_no_space_is_507(
    api, base, glance, image_conf, override_settings
):
    override_settings(MULTICLOUD_IMAGE_MAX_SIZE=1000)
    answer, _ = post_raw(api, base, glance, b"x" * 5000)
    assert answer.status == 413
    override_settings(MULTICLOUD_IMAGE_MAX_SIZE=1 << 30, MULTICLOUD_IMAGE_FREE_SPACE_MARGIN=1 << 50)
    answer, _ = post_raw(api, base, glance, b"x" * 5000)
    assert answer.status == 507 and "free space" in answer.json()["error"]
    assert staging_files(image_conf.staging_dir) == []


def test_glance_failing_midway_leaves_no_staging_copy_and_no_image(
    api,
    base,
    glance,
    image_conf,
    monkeypatch,
):
    def failing_put(self, url, data=None, **kwargs):
        assert url.endswith("/file")
        next(iter(data))  # some bytes went, then the connection broke
        raise ks_exc.ConnectFailure("connection reset by peer")

    monkeypatch.setattr(ks_adapter.Adapter, "put", failing_put)
    answer, name = post_raw(api, base, glance, b"y" * 100_000)
    assert answer.status == 500, answer.body
    assert "cannot reach the image service of osbox_RegionOne" in answer.json()["error"]
    assert not glance_names(glance, name)
    assert staging_files(image_conf.staging_dir) == []
    assert not PendingImage.objects.exists()  # deleted: nothing for a start-up sweep


def test_an_unreachable_image_service_is_500_with_a_clear_message(api, base, monkeypatch):
    real = ks_session.Session.get_endpoint

    def dead_image_service(self, auth=None, **kwargs):
        if kwargs.get("service_type") == "image":
            return "http://127.0.0.1:1"
        return real(self, auth, **kwargs)

    monkeypatch.setattr(ks_session.Session, "get_endpoint", dead_image_service)
    answer = api.request("GET", f"{base}/images")
    assert answer.status == 500
    assert "cannot reach the image service of osbox_RegionOne" in answer.json()["error"]


def test_export_is_off_by_default_and_confined_to_the_export_dir(
    api,
    base,
    glance,
    image_conf,
    override_settings,
    tmp_path,
):
    data = b"e" * 70_000
    answer, name = post_raw(api, base, glance, data)
    image_id = answer.json()["id"]
    path = f"{base}/images/file/{image_id}"
    off = api.request("POST", path, json.dumps({"imagePath": str(tmp_path)}).encode())
    assert off.status == 403
    override_settings(MULTICLOUD_IMAGE_EXPORT_DIR=str(tmp_path / "export"))
    (tmp_path / "export").mkdir()
    outside = api.request("POST", path, json.dumps({"imagePath": "/etc"}).encode())
    assert outside.status == 403
    written = api.request("POST", path, json.dumps({"imagePath": "out"}).encode())
    assert written.status == 200, written.body
    target = tmp_path / "export" / "out" / f"{name}.raw"
    assert written.json()["imagePath"] == str(target) and target.read_bytes() == data


def test_create_by_url_is_refused_unless_allowed_then_fetched_in_the_background(
    api,
    base,
    glance,
    image_conf,
    override_settings,
    tmp_path,
):
    data = hashlib.sha512(b"url").digest() * 4096
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "disk.raw").write_bytes(data)
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "www")
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        name = unique_name()
        glance.track(name)
        body = {
            "name": name,
            "imageType": "raw",
            "containerFormat": "bare",
            "imagePath": f"http://127.0.0.1:{httpd.server_port}/disk.raw",
        }
        refused = api.request("POST", f"{base}/images", json.dumps(body).encode())
        assert refused.status == 403 and "MULTICLOUD_IMAGE_URL_ALLOWLIST" in refused.json()["error"]
        local = {**body, "imagePath": "file:///etc/passwd"}
        assert api.request("POST", f"{base}/images", json.dumps(local).encode()).status == 400
        override_settings(MULTICLOUD_IMAGE_URL_ALLOWLIST="127.0.0.1/32")
        accepted = api.request("POST", f"{base}/images", json.dumps(body).encode())
        assert accepted.status == 202, accepted.body
        image_id = accepted.json()["id"]
        deadline = time.monotonic() + 60
        while glance.images.get(image_id)["status"] != "active":
            assert time.monotonic() < deadline
            time.sleep(0.3)
        assert glance.images.get(image_id)["os_hash_value"] == hashlib.sha512(data).hexdigest()
        while PendingImage.objects.filter(image_id=image_id).exists():  # verified, then dropped
            assert time.monotonic() < deadline
            time.sleep(0.1)
        again = api.request("POST", f"{base}/images", json.dumps(body).encode())
        assert again.status == 200 and again.json()["returnCode"] == 0
    finally:
        httpd.shutdown()


def test_an_upload_whose_worker_died_leaves_nothing_after_the_next_start(
    sandbox, glance, image_conf
):
    """H5: the start-up sweep deletes the half-created image of a stale .part, then the file."""
    reg = vims.parse_registration("osbox", "RegionOne", region_body(sandbox))
    region = CloudRegion(cloud_owner="osbox", cloud_region_id="RegionOne", **reg.fields)
    region.password = reg.password
    region.save()
    target = images.connect(region, sandbox.admin.project_name)
    name = unique_name()
    glance.track(name)
    pipe = Pipeline(target, parse_meta({"name": name, "imageType": "raw"}), None)
    pipe.write(b"z" * 65536)
    # The worker dies: its clean-up never runs (the thread feeding Glance just stops).
    pipe.tail.finish(failed=True)
    pipe.thread.join(60)
    pipe.writer.file.close()
    part = pipe.writer.path
    live_part = image_conf.staging_dir / "live-upload.part"
    live_part.write_bytes(b"still arriving")
    an_hour_ago = time.time() - 3600
    os.utime(part, (an_hour_ago, an_hour_ago))
    PendingImage.objects.update(created=timezone.now() - timedelta(hours=1))
    others = [
        PendingImage.objects.create(
            vim_id="osbox_RegionOne", tenant="t", image_id="live", path=str(live_part), host=host
        )
        for host in (socket.gethostname(), "another-replica")
    ]
    PendingImage.objects.filter(pk__in=[o.pk for o in others]).update(
        created=timezone.now() - timedelta(hours=1)
    )
    assert glance_names(glance, name)  # half-created, left behind
    assert pending.sweep(image_conf.staging_dir, idle=60, budget=60) == 1
    assert not glance_names(glance, name)
    assert not part.exists() and live_part.exists()
    assert sorted(PendingImage.objects.values_list("host", flat=True)) == sorted(
        [socket.gethostname(), "another-replica"]
    )  # a live upload of this host and a young one of another replica are left alone
