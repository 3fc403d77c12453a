"""A failing cloud behind the typed API: 503 unreachable, 504 too slow, 502/503 its errors.

The clouds here are failures on purpose (nothing listening, a socket that never
answers, a Keystone whose Nova answers 5xx), so they are small local servers,
not the sandbox.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from multicloud.vims.models import CloudRegion
from tests.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/api/multicloud-vio/v0/broken_{n}/admin/flavors"


def add_region(n: int, url: str) -> str:
    record = CloudRegion(
        cloud_owner="broken",
        cloud_region_id=str(n),
        cloud_type="openstack",
        identity_url=url,
        username="admin",
        default_tenant="admin",
    )
    record.password = "secret"
    record.save()
    return PATH.format(n=n)


class _BrokenCloud(BaseHTTPRequestHandler):
    """Keystone issues a token; the compute service of its catalog answers ``status``."""

    status = 500

    def log_message(self, *args):
        pass

    def _send(self, status: int, body: dict, headers: dict | None = None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        base = f"http://127.0.0.1:{self.server.server_port}"
        token = {
            "expires_at": "2099-01-01T00:00:00.000000Z",
            "issued_at": "2026-01-01T00:00:00.000000Z",
            "methods": ["password"],
            "user": {"id": "u1", "name": "admin", "domain": {"id": "default"}},
            "project": {"id": "p1", "name": "admin", "domain": {"id": "default"}},
            "catalog": [
                {
                    "type": "compute",
                    "name": "nova",
                    "endpoints": [{"interface": "public", "url": f"{base}/compute/v2.1"}],
                }
            ],
        }
        self._send(201, {"token": token}, {"X-Subject-Token": "t1"})

    def do_GET(self):  # noqa: N802
        self._send(self.server.answer, {"computeFault": {"message": "boom", "code": 500}})


@pytest.fixture
def broken_cloud():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BrokenCloud)
    server.answer = 500
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def short_timeout(override_settings):
    override_settings(MULTICLOUD_CLOUD_TIMEOUT=1)


def test_an_unreachable_cloud_is_503(api):
    path = add_region(free_port(), f"http://127.0.0.1:{free_port()}/v3")
    answer = api.request("GET", path)
    assert answer.status == 503, answer.body
    assert "cannot reach" in answer.json()["error"]


def test_a_cloud_that_never_answers_is_504_after_the_cloud_timeout(api, short_timeout):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        port = silent.getsockname()[1]
        path = add_region(port, f"http://127.0.0.1:{port}/v3")
        started = time.monotonic()
        answer = api.request("GET", path)
        assert answer.status == 504, answer.body
        assert time.monotonic() - started < 10
    finally:
        silent.close()


@pytest.mark.parametrize(("upstream", "status"), [(500, 502), (503, 503)])
def test_a_failing_service_is_502_or_503_with_its_message(api, broken_cloud, upstream, status):
    broken_cloud.answer = upstream
    port = broken_cloud.server_port
    path = add_region(port, f"http://127.0.0.1:{port}/v3")
    answer = api.request("GET", path)
    assert answer.status == status, answer.body
    assert "boom" in answer.json()["error"] and answer.json()["upstream_status"] == upstream
