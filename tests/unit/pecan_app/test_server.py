"""pecan_app.server.open_sockets: one SO_REUSEPORT listening socket per worker."""

from __future__ import annotations

import socket

import pytest

from multicloud.conf import load
from pecan_app.server import open_sockets
from tests.servers import free_port


@pytest.fixture
def settings(tmp_path):
    """Settings listening on 127.0.0.1:``port`` with ``workers`` workers."""

    def make(port: int, workers: int = 2):
        env = {"MULTICLOUD_HOST": "127.0.0.1", "MULTICLOUD_BACKLOG": "128"}
        env |= {"MULTICLOUD_PORT": str(port), "MULTICLOUD_WORKERS": str(workers)}
        return load({"MULTICLOUD_DATA_DIR": str(tmp_path), **env})

    return make


def test_one_listening_socket_per_worker_on_the_same_port(settings):
    port = free_port()
    socks = open_sockets(settings(port, workers=3))
    try:
        assert len(socks) == 3
        assert {s.getsockname()[1] for s in socks} == {port}
        assert all(s.get_inheritable() for s in socks)
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    finally:
        for sock in socks:
            sock.close()


def test_a_port_already_in_use_is_refused_even_by_another_reuseport_group(settings):
    port = free_port()
    first = open_sockets(settings(port))
    try:
        with pytest.raises(OSError):
            open_sockets(settings(port))
    finally:
        for sock in first:
            sock.close()
