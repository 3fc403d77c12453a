"""Small loopback fakes for the security tests.

* :class:`FakeKeystone` records every request (method, path, headers, body) and
  answers token issue and validation from a table of tokens it knows;
* :class:`Tarpit` accepts connections, reads, and never answers.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def token_body(user: str, roles: list[str], catalog: list | None = None) -> dict:
    """A Keystone v3 token document."""
    expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    return {
        "token": {
            "methods": ["password"],
            "user": {"id": user, "name": user, "domain": {"id": "default", "name": "Default"}},
            "project": {"id": "p1", "name": "p1", "domain": {"id": "default", "name": "Default"}},
            "roles": [{"id": r, "name": r} for r in roles],
            "catalog": catalog or [],
            "expires_at": expires,
            "issued_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
        }
    }


class FakeKeystone:
    """A Keystone v3 double on 127.0.0.1 that records what it is sent."""

    def __init__(self, tokens: dict[str, list[str]] | None = None, catalog: list | None = None):
        self.tokens = dict(tokens or {})
        self.catalog = catalog or []
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                fake.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body,
                    }
                )
                status, headers, payload = fake.answer(self.command, self.path, self.headers)
                raw = isinstance(payload, bytes)
                data = payload if raw else json.dumps(payload).encode()
                kind = "application/octet-stream" if raw else "application/json"
                self.send_response(status)
                for name, value in headers + [("Content-Type", kind)]:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_HEAD = _answer  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v3"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, method: str, path: str, headers) -> tuple[int, list, dict]:
        if path.rstrip("/") == "/v3":
            return (
                200,
                [],
                {
                    "version": {
                        "id": "v3.14",
                        "status": "stable",
                        "links": [{"rel": "self", "href": self.url + "/"}],
                    }
                },
            )
        if path.startswith("/v3/auth/tokens") and method == "POST":
            return (
                201,
                [("X-Subject-Token", "service-token")],
                token_body("svc", ["admin"], self.catalog),
            )
        if path.startswith("/v3/auth/tokens") and method == "GET":
            subject = headers.get("X-Subject-Token", "")
            if subject in self.tokens:
                return (
                    200,
                    [("X-Subject-Token", subject)],
                    token_body("u-" + subject, self.tokens[subject], self.catalog),
                )
            return 404, [], {"error": {"code": 404, "message": "token not found"}}
        return 404, [], {"error": {"code": 404, "message": "not here"}}

    def validations(self) -> int:
        return sum(1 for r in self.requests if r["method"] == "GET" and "auth/tokens" in r["path"])

    def bodies(self) -> str:
        return "\n".join(r["body"] for r in self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


MARKER = b"MARKER-internal-secret"


class CraftedCloud(FakeKeystone):
    """A whole malicious cloud on one port: Keystone (/v3), Glance (/glance), a marker.

    Its catalog sends image to its own ``/glance`` and compute to
    ``compute_url`` (default: its ``/internal`` marker, standing for a host the
    service must not read for callers). ``image`` is what every image GET returns.
    """

    def __init__(self, image: dict | None = None, compute_url: str | None = None):
        self.image = image or {}
        self.internal_headers: list[tuple[str, str]] = []
        super().__init__({"t1": ["admin"], "t2": ["admin"]})
        root = self.url.removesuffix("/v3")
        self.catalog = [
            _service("image", f"{root}/glance"),
            _service("compute", compute_url or f"{root}/internal"),
        ]

    def answer(self, method: str, path: str, headers):
        # NOTE: a crafted image id may have moved the path anywhere (dot segments).
        if path.startswith("/v3"):
            return super().answer(method, path, headers)
        if path.startswith("/internal"):
            return 200, list(self.internal_headers), MARKER
        if "/schemas/" in path:
            return 200, [], {"name": "image", "properties": {}, "additionalProperties": True}
        if path.rstrip("/").endswith("/file"):
            return 200, [], b"PWND"
        return 200, [], self.image


def _service(kind: str, url: str) -> dict:
    endpoints = [
        {"interface": i, "region": "RegionOne", "region_id": "RegionOne", "url": url, "id": i}
        for i in ("public", "internal", "admin")
    ]
    return {"type": kind, "name": kind, "id": kind, "endpoints": endpoints}


def region_body(keystone_url: str, password: str = "pw") -> dict:
    """An A&AI cloud-region registration body pointing at ``keystone_url``."""
    esr = {
        "service-url": keystone_url,
        "user-name": "admin",
        "password": password,
        "default-tenant": "p1",
        "cloud-domain": "Default",
    }
    return {
        "cloud-type": "openstack",
        "cloud-region-version": "pike",
        "cloud-extra-info": '{"openstack-region-id": "RegionOne"}',
        "esr-system-info-list": {"esr-system-info": [esr]},
    }


class Tarpit:
    """Accepts TCP connections and reads them without ever answering."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._open: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self._open.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self._open:
            conn.close()


class Marker:
    """An internal HTTP server (on 127.0.0.2) that must never be read for a caller."""

    def __init__(self, host: str = "127.0.0.2"):
        self.hits: list[str] = []
        marker = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                marker.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", str(len(MARKER)))
                self.end_headers()
                self.wfile.write(MARKER)

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Banner:
    """A TCP service that sends a banner line and closes (an SSH-like port)."""

    def __init__(self, line: bytes = b"SSH-2.0-OpenSSH_9.6 fake-banner\r\n"):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.line = line
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(self.line)

    def close(self) -> None:
        self.sock.close()


class TricklePlugin:
    """An external plugin whose GET answers trickle ``size`` bytes over ``seconds``."""

    def __init__(self, size: int = 10240, seconds: float = 5.0, steps: int = 10):
        plugin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                body = b'{"status": "registered"}'
                self.send_response(202)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                for _ in range(steps):
                    self.wfile.write(b"x" * (size // steps))
                    self.wfile.flush()
                    time.sleep(seconds / steps)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/multicloud-trickle"
        self.size = size
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        del plugin

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
