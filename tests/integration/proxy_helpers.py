"""Helpers for the OpenStack passthrough tests (tokens, a foreign Keystone)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.integration.regions import region_body


def auth_body(creds, password: str | None = None) -> dict:
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": creds.username,
                        "domain": {"name": creds.user_domain_name},
                        "password": creds.password if password is None else password,
                    }
                },
            },
            "scope": {
                "project": {
                    "name": creds.project_name,
                    "domain": {"name": creds.project_domain_name},
                }
            },
        }
    }


def register(api, sandbox, base: str) -> None:
    answer = api.request("POST", f"{base}/registry", json.dumps(region_body(sandbox)).encode())
    assert answer.status == 202, answer.body


def token(api, base: str, creds) -> tuple[str, dict]:
    """(X-Subject-Token, token body) issued through the proxy."""
    answer = api.request(
        "POST", f"{base}/identity/v3/auth/tokens", json.dumps(auth_body(creds)).encode()
    )
    assert answer.status == 201, answer.body
    return answer.headers["x-subject-token"], answer.json()["token"]


class _ForeignKeystone(BaseHTTPRequestHandler):
    """A Keystone of another cloud: it knows none of our tokens."""

    def do_GET(self):  # noqa: N802
        body = json.dumps(
            {"error": {"code": 404, "title": "Not Found", "message": "Could not find token"}}
        ).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class ForeignKeystone:
    """Started on a free loopback port; ``url`` ends in ``/v3``."""

    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _ForeignKeystone)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v3"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
