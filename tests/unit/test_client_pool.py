"""The client seam's pooled HTTP session: sized to the worker, kept alive, cookie-less."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from multicloud.conf import GREEN_THREADS, get_settings
from multicloud.openstack import client


class _KeepAlive(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections: set[int] = set()
    gate = threading.Barrier(1)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        type(self).connections.add(id(self.connection))
        try:
            self.gate.wait(timeout=5)
        except threading.BrokenBarrierError:
            pass
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", "sticky=caller-a; Path=/")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeepAlive)
    server.daemon_threads = True
    _KeepAlive.connections = set()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_pool_holds_the_worker_concurrency():
    settings = get_settings()
    expected = settings.threads if settings.web_framework == "django" else GREEN_THREADS
    assert client.pool_size() == expected + client.POOL_SPARE
    assert client.http_session().pool_size == client.pool_size()


def test_every_session_of_a_worker_shares_one_pooled_http_session():
    plain = client.plain_session(True)
    creds = client.Credentials("http://k/v3", "u", "p", "admin", None, "Default", True, None)
    assert plain.session is client.http_session()
    assert client.new_session(creds).session is client.http_session()


def test_concurrent_calls_reuse_connections_without_pool_warnings(upstream, caplog):
    """As many calls at once as the pool holds: none discarded, all reused afterwards."""
    session = client.HttpSession(pool_size=20)
    _KeepAlive.gate = threading.Barrier(20)
    plain = client.plain_session(True)
    plain_of = type(plain)(session=session, verify=True, timeout=10)

    def call(_):
        reply = client.send(plain_of, "GET", f"{upstream}/x", headers={}, stream=False)
        return reply.status_code

    with caplog.at_level(logging.WARNING, logger="urllib3"):
        with ThreadPoolExecutor(20) as pool:
            assert set(pool.map(call, range(20))) == {200}
        _KeepAlive.gate = threading.Barrier(1)
        with ThreadPoolExecutor(20) as pool:
            assert set(pool.map(call, range(100))) == {200}
    assert "Connection pool is full" not in caplog.text
    assert len(_KeepAlive.connections) == 20  # the 100 later calls opened none


def test_cookies_from_one_answer_never_ride_along_with_the_next(upstream):
    session = client.HttpSession(pool_size=2)
    session.get(f"{upstream}/a", timeout=5)
    assert len(session.cookies) == 0


def test_environment_proxies_are_honoured_once_per_host(monkeypatch):
    monkeypatch.setenv("https_proxy", "http://proxy.invalid:3128")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    session = client.HttpSession(pool_size=2)
    far = session.merge_environment_settings("https://cloud.invalid/v3", {}, True, True, None)
    near = session.merge_environment_settings("https://127.0.0.1/v3", {}, True, True, None)
    assert far["proxies"]["https"] == "http://proxy.invalid:3128"
    assert "https" not in near["proxies"]
    monkeypatch.setenv("https_proxy", "http://changed.invalid:1")
    again = session.merge_environment_settings("https://cloud.invalid/v3", {}, True, True, None)
    assert again == far
