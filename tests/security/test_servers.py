"""T5 and T6 against run.sh in each mode: slow clients, framing, no-progress timeouts."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from tests.security.fakes import TricklePlugin
from tests.servers import Service

TIMEOUT = 2  # MULTICLOUD_REQUEST_TIMEOUT: seconds without progress


@pytest.fixture(scope="module")
def plugin():
    fake = TricklePlugin(size=10240, seconds=5.0)
    yield fake
    fake.close()


@pytest.fixture(scope="module", params=["django", "pecan"])
def server(request, tmp_path_factory, plugin):
    plugins = json.dumps([{"cloud_type": "trickle", "url": plugin.url}])
    svc = Service(
        tmp_path_factory.mktemp(request.param),
        WEB_FRAMEWORK=request.param,
        MULTICLOUD_WORKERS="1",
        MULTICLOUD_THREADS="2",
        MULTICLOUD_REQUEST_TIMEOUT=str(TIMEOUT),
        MULTICLOUD_CLOUD_TIMEOUT=str(TIMEOUT),
        MULTICLOUD_PLUGINS=plugins,
    )
    svc.wait_ready()
    yield svc
    svc.stop()


def _raw(server, data: bytes, wait: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
    return b"".join(chunks)


PROXY = "/api/multicloud/v0/Owner_Region/glance/v2/images/x"


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        b"Content-Length: -1\r\n\r\n",
        b"Content-Length: 3\r\nContent-Length: 20\r\n\r\nabc",
        b"Content-Length: 20\r\nContent-Length: 3\r\n\r\nabc",
    ],
    ids=["cl-and-te", "negative", "duplicate-3-20", "duplicate-20-3"],
)
def test_t5b_ambiguous_framing_is_400(server, framing):
    request = f"PUT {PROXY} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: t\r\n".encode() + framing
    answer = _raw(server, request)
    assert answer.split(b"\r\n", 1)[0].split(b" ")[1] == b"400", answer[:300]


def test_t5a_slow_clients_are_cut_within_the_timeout_then_others_are_served(server):
    slow = []
    for _ in range(6):  # more than the 2 threads of the one worker
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"GET /api/multicloud/v0/vim_types HTTP/1.1\r\nHost: x\r\n")
        slow.append(sock)
    started = time.monotonic()
    try:
        for sock in slow:
            sock.settimeout(TIMEOUT * 4)
            while sock.recv(65536):  # the server answers 408/closes, or just closes
                pass
        closed_after = time.monotonic() - started
        probe = requests.get(f"{server.url}/api/multicloud/v0/vim_types", timeout=5)
    finally:
        for sock in slow:
            sock.close()
    assert closed_after < TIMEOUT * 4
    assert probe.status_code == 200


def test_t6_a_transfer_that_keeps_moving_is_never_cut(server, plugin):
    body = {"cloud-type": "trickle", "cloud-region-version": "1"}
    registered = requests.post(
        f"{server.url}/api/multicloud/v0/Owner_Trickle/registry", json=body, timeout=10
    )
    assert registered.status_code == 202, registered.text
    started = time.monotonic()
    answer = requests.get(f"{server.url}/api/multicloud/v0/Owner_Trickle/blob", timeout=30)
    took = time.monotonic() - started
    assert answer.status_code == 200
    assert len(answer.content) == plugin.size
    assert took > TIMEOUT * 2  # it ran for longer than the no-progress timeout
