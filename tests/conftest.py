"""Fixtures shared by the whole suite.

``api`` runs a test once per web framework, in-process: Django through its
test client, Pecan through WebTest. Both get the same neutral :class:`Answer`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import pytest

FRAMEWORKS = ("django", "pecan")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class DjangoApi:
    name = "django"

    def __init__(self):
        from django.test import Client

        self.client = Client()

    def request(self, method, path, body=b"", headers=None, content_type="application/json"):
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
        response = self.client.generic(method, path, body, content_type=content_type, **extra)
        content = b"".join(response.streaming_content) if response.streaming else response.content
        return Answer(response.status_code, _lower(response.headers.items()), content)


class PecanApi:
    name = "pecan"

    def __init__(self, app):
        self.app = app

    def request(self, method, path, body=b"", headers=None, content_type="application/json"):
        all_headers = dict(headers or {})
        if body:
            all_headers.setdefault("Content-Type", content_type)
        response = self.app.request(
            path, method=method, body=body, headers=all_headers, expect_errors=True
        )
        return Answer(response.status_int, _lower(response.headerlist), response.body)


def _lower(items) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


@pytest.fixture(scope="session")
def pecan_wsgi_app():
    import webtest

    from pecan_app.app import make_app

    return webtest.TestApp(make_app(close_connections=False))


@pytest.fixture(params=FRAMEWORKS)
def api(request, pecan_wsgi_app):
    """A client for the API under each web framework in turn."""
    if request.param == "django":
        return DjangoApi()
    return PecanApi(pecan_wsgi_app)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item):
    """Let background region discovery finish inside the test that started it.

    Runs before fixtures are torn down, so a discovery thread never writes to a
    database that is being flushed or that the next test owns.
    """
    for thread in threading.enumerate():
        if thread.name.startswith("discovery-"):
            thread.join(timeout=120)


def pytest_terminal_summary(terminalreporter):
    """One line per skip reason (``N skipped: reason``), not one line per skipped test."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, count in reasons.items():
        terminalreporter.write_line(f"{count} skipped: {reason}", yellow=True)
