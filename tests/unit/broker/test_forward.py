"""Forwarding to a plugin: what headers and body the plugin receives."""

from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from multicloud.api.routes import ROUTER
from multicloud.broker.forward import forward
from multicloud.conf import Plugin
from multicloud.http import Headers, Request


class _Recorder(BaseHTTPRequestHandler):
    seen: dict = {}

    def do_PUT(self):  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length", 0))
        _Recorder.seen = {
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": self.rfile.read(length),
            "path": self.path,
        }
        self.send_response(201)
        self.send_header("Content-Length", "2")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def plugin():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Plugin("ext", f"http://127.0.0.1:{server.server_port}/api/multicloud-ext")
    server.shutdown()
    server.server_close()


def _request(headers: dict[str, str], body: bytes) -> Request:
    request = Request(
        "PUT",
        "/api/multicloud/v1/o/r/thing",
        {"owner": "o", "region": "r", "rest": "thing"},
        "a=1&a=2",
        Headers(headers.items()),
        io.BytesIO(body),
    )
    request.route = ROUTER.match("PUT", request.path)[0]
    return request


@pytest.mark.timeout(20)
def test_the_plugin_gets_the_body_its_length_and_no_unasked_compression(plugin):
    answer = forward(plugin, _request({"Content-Length": "5", "X-Auth-Token": "t"}, b"hello"))
    assert answer.status == 201 and b"".join(answer.stream) == b"ok"
    seen = _Recorder.seen
    assert seen["path"] == "/api/multicloud-ext/v1/o/r/thing?a=1&a=2"
    assert seen["body"] == b"hello" and seen["headers"]["content-length"] == "5"
    assert seen["headers"]["accept-encoding"] == "identity"
    assert seen["headers"]["x-auth-token"] == "t"


@pytest.mark.timeout(20)
def test_the_callers_accepted_encodings_are_passed_on(plugin):
    forward(plugin, _request({"Content-Length": "0", "Accept-Encoding": "gzip"}, b""))
    assert _Recorder.seen["headers"]["accept-encoding"] == "gzip"
