"""pecan_app.server.open_sockets: one SO_REUSEPORT listening socket per worker."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest

from pecan_app.server import open_sockets


def settings(port: int, workers: int = 2):
    return SimpleNamespace(host="127.0.0.1", port=port, workers=workers, backlog=128)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_one_listening_socket_per_worker_on_the_same_port():
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


def test_a_port_already_in_use_is_refused_even_by_another_reuseport_group():
    port = free_port()
    first = open_sockets(settings(port))
    try:
        with pytest.raises(OSError):
            open_sockets(settings(port))
    finally:
        for sock in first:
            sock.close()
