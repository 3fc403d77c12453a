"""Answers of every kind, so the byte-parity check of conftest.py sees each of them.

201, 202 (with Location), 204, 4xx errors with extra fields, 405 with ``Allow``,
streamed answers (an external plugin's chunked body relayed), HEAD of a fixed and of
a streamed answer, and the unreachable-Keystone error, whose text once came from the
transport (``Connection refused`` in one mode, ``ECONNREFUSED`` in the other).
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from multicloud.vims.models import CloudRegion

pytestmark = pytest.mark.django_db

V1 = "/api/multicloud/v1/ext/R1"


class _Plugin(BaseHTTPRequestHandler):
    """A plugin answering 202 to a registration and a chunked body to anything else."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"status":"accepted"}'
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Location", "/api/multicloud-ext/v1/ext/R1/registry")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for part in (b"first,", b"second,", b"third"):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        self.wfile.write(b"0\r\n\r\n")

    do_HEAD = do_GET  # noqa: N815 - the name http.server looks up


@pytest.fixture
def plugin(override_settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Plugin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/api/multicloud-ext"
    override_settings(MULTICLOUD_PLUGINS=json.dumps([{"cloud_type": "ext", "url": url}]))
    yield url
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_plugin_registration_answers_202_with_its_location(api, plugin):
    body = json.dumps({"cloud-type": "ext", "cloud-region-version": "1"}).encode()
    answer = api.request("POST", f"{V1}/registry", body)
    assert answer.status == 202
    assert answer.headers["location"] == "/api/multicloud-ext/v1/ext/R1/registry"
    assert CloudRegion.objects.filter(cloud_owner="ext").exists()


def test_a_registration_that_is_not_json_is_415_with_plugins_configured_too(api, plugin):
    body = json.dumps({"cloud-type": "openstack"}).encode()
    answer = api.request("POST", f"{V1}/registry", body, content_type="text/plain")
    assert answer.status == 415
    assert not CloudRegion.objects.exists()


def test_a_plugins_streamed_answer_is_relayed_and_head_sends_no_body(api, plugin):
    CloudRegion.objects.create(cloud_owner="ext", cloud_region_id="R1", cloud_type="ext")
    streamed = api.request("GET", f"{V1}/anything/below")
    assert streamed.status == 200
    assert streamed.body == b"first,second,third"
    head = api.request("HEAD", f"{V1}/anything/below")
    assert head.status == 200 and head.body == b""


def test_a_subscription_is_201_then_200_and_its_delete_204(api):
    CloudRegion.objects.create(cloud_owner="onap", cloud_region_id="R2", cloud_type="openstack")
    body = json.dumps({"states": ["DELETE"], "topic": "T"}).encode()
    base = "/api/multicloud/v1/onap/R2/event_subscriptions"
    assert api.request("POST", base, body).status == 201
    assert api.request("POST", base, body).status == 200
    assert api.request("DELETE", f"{base}?topic=T").status == 204


def test_405_names_the_allowed_methods_in_allow_and_in_the_body(api):
    answer = api.request("PUT", "/api/multicloud/v0/vim_types")
    assert answer.status == 405
    assert answer.headers["allow"] == "GET, HEAD"
    assert answer.json()["allowed"] == ["GET", "HEAD"]


def test_413_carries_its_limit(api):
    CloudRegion.objects.create(cloud_owner="onap", cloud_region_id="R3", cloud_type="openstack")
    big = b"{" + b" " * (5 * 1024 * 1024) + b"}"
    answer = api.request("POST", "/api/multicloud/v1/onap/R3/capacity_check", big)
    assert answer.status == 413
    assert answer.json()["limit"] == 4 * 1024 * 1024


def test_head_of_an_error_keeps_its_length_and_sends_no_body(api):
    answer = api.request("HEAD", "/api/multicloud/v1/nobody/R9/registry")
    assert answer.status == 404 and answer.body == b""
    assert int(answer.headers["content-length"]) > 0


#: One closed port for both runs, so both answers name the same URL.
CLOSED_PORT = _closed_port()


def test_an_unreachable_keystone_is_the_same_400_in_both_modes(api):
    esr = {
        "service-url": f"http://127.0.0.1:{CLOSED_PORT}/v3",
        "user-name": "u",
        "password": "p",
        "default-tenant": "t",
        "cloud-domain": "Default",
    }
    body = {"cloud-type": "openstack", "esr-system-info-list": {"esr-system-info": [esr]}}
    answer = api.request("POST", "/api/multicloud/v1/onap/R4/registry", json.dumps(body).encode())
    assert answer.status == 400
    assert answer.json()["error"] == "the identity service cannot be used: it cannot be reached"
    assert not CloudRegion.objects.exists()
