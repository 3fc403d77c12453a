"""Fixtures shared by the whole suite.

``api`` runs a test once per web framework, in-process: Django through its
test client, Pecan through WebTest. Both get the same neutral :class:`Answer`.

Byte parity: for every functional test (``tests/functional``, or any test marked
``parity``) the answers of its django run and of its pecan run are recorded in
order, and once both runs are done they must be identical: status, every header in
order, a repeated one included (``Date`` and ``Server`` aside), and body bytes, request
by request (tests/unit/test_conftest.py shows it failing on each kind of difference).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

FRAMEWORKS = ("django", "pecan")

#: The A&AI double and the ``aai`` registry mode (fixtures ``fake_aai``, ``use_aai``, ``aai_mode``).
#: The OpenStack sandbox (``sandbox``, ``admin_session``, ``servers``, ...: tests/sandbox.py).
pytest_plugins = ["tests.doubles.aai_fixtures", "tests.sandbox"]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    #: Every header as sent, in order, names in lower case (repeated ones kept).
    header_list: list[tuple[str, str]] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body)


class DjangoApi:
    name = "django"

    def __init__(self):
        from django.test import Client

        self.client = Client()

    def request(self, method, path, body=b"", headers=None, content_type="application/json"):
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
        extra.setdefault("HTTP_HOST", TEST_HOST)
        response = self.client.generic(method, path, body, content_type=content_type, **extra)
        content = b"".join(response.streaming_content) if response.streaming else response.content
        return _answer(response.status_code, list(response.headers.items()), content)


class PecanApi:
    """The Pecan app called as a WSGI server would: headers and bytes exactly as sent."""

    name = "pecan"

    def __init__(self, app):
        self.app = app

    def request(self, method, path, body=b"", headers=None, content_type="application/json"):
        import webob

        all_headers = {"Host": TEST_HOST, **(headers or {})}
        if body:
            all_headers.setdefault("Content-Type", content_type)
        request = webob.Request.blank(path, method=method, headers=all_headers)
        if body:
            request.body = body
        status, headerlist, app_iter = request.call_application(self.app)
        try:
            content = b"".join(app_iter)
        finally:
            getattr(app_iter, "close", lambda: None)()
        return _answer(int(status.split()[0]), headerlist, content)


#: The Host both test clients send.
TEST_HOST = "testserver"


def _answer(status: int, headers: list[tuple[str, str]], body: bytes) -> Answer:
    lowered = [(name.lower(), value) for name, value in headers]
    return Answer(status, dict(lowered), body, lowered)


@pytest.fixture(scope="session")
def pecan_wsgi_app():
    from pecan_app.app import make_app

    return make_app(close_connections=False)


#: Headers that may differ between two runs of the same request.
VOLATILE_HEADERS = frozenset({"date", "server"})
#: ONAP ids generated per request when the caller sent none: present in both, values differ.
GENERATED_IDS = frozenset({"x-onap-requestid", "x-transactionid", "x-invocationid"})


class Recording:
    """Wraps a framework client and keeps every exchange, in order."""

    def __init__(self, client):
        self.client = client
        self.name = client.name
        self.exchanges: list[tuple[str, str, Answer]] = []

    def request(self, method, path, *args, **kwargs) -> Answer:
        answer = self.client.request(method, path, *args, **kwargs)
        self.exchanges.append((method, path, answer))
        return answer


#: (test id without the framework) -> {framework: recorded exchanges}
_RECORDINGS: dict[tuple, dict[str, list]] = {}


def _parity_key(item) -> tuple:
    params = getattr(getattr(item, "callspec", None), "params", {})
    rest = tuple(sorted((k, repr(v)) for k, v in params.items() if k != "api"))
    return (item.path, item.originalname, rest)


def _wants_parity(item) -> bool:
    if item.get_closest_marker("no_parity") is not None:
        return False
    return "functional" in item.path.parts or item.get_closest_marker("parity") is not None


def assert_same_answers(django: list, pecan: list) -> None:
    """Both frameworks answered every request alike, byte for byte."""
    assert [(m, p) for m, p, _ in django] == [(m, p) for m, p, _ in pecan]
    for (method, path, a), (_, _, b) in zip(django, pecan, strict=True):
        where = f"{method} {path}"
        assert a.status == b.status, f"{where}: status {a.status} (django) vs {b.status} (pecan)"
        heads_a, heads_b = _headers(a, b), _headers(b, a)
        assert heads_a == heads_b, f"{where}: headers differ (django, then pecan)"
        assert a.body == b.body, f"{where}: body {a.body[:300]!r} vs {b.body[:300]!r}"


def _headers(answer: Answer, other: Answer) -> list[tuple[str, str]]:
    """Every header in order, a repeated one too (``Date`` and ``Server`` aside)."""
    return [
        (k, _comparable(k, v, other)) for k, v in answer.header_list if k not in VOLATILE_HEADERS
    ]


def _comparable(name: str, value: str, other: Answer) -> str:
    """A generated ONAP id compares as present (its value is new in every run)."""
    if name in GENERATED_IDS and other.headers.get(name) not in (None, value):
        return "<generated>"
    return value


class TickingClock:
    """``timezone.now`` for a parity test: the same instants, in the same order, in each run."""

    def __init__(self):
        self.ticks = 0

    def __call__(self):
        self.ticks += 1
        return PARITY_EPOCH + timedelta(microseconds=self.ticks)


PARITY_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=FRAMEWORKS)
def api(request, pecan_wsgi_app, monkeypatch):
    """A client for the API under each web framework in turn (answers compared, see above)."""
    client = DjangoApi() if request.param == "django" else PecanApi(pecan_wsgi_app)
    if not _wants_parity(request.node):
        yield client
        return
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", TickingClock())
    recording = Recording(client)
    yield recording
    runs = _RECORDINGS.setdefault(_parity_key(request.node), {})
    runs[request.param] = recording.exchanges
    if len(runs) == len(FRAMEWORKS):
        del _RECORDINGS[_parity_key(request.node)]
        assert_same_answers(runs["django"], runs["pecan"])


@pytest.fixture
def stored_region():
    """Make and save a cloud region record (its password encrypted as in production):
    ``stored_region(cloud_region_id="R2", password="pw")``. By default owner ``onap``,
    region ``R1``, and an identity URL nothing listens on. Needs database access."""
    from multicloud.vims.models import CloudRegion

    def make(password: str = "s3cret", **fields: Any) -> CloudRegion:
        values = {
            "cloud_owner": "onap",
            "cloud_region_id": "R1",
            "cloud_type": "openstack",
            "identity_url": "http://127.0.0.1:1/v3",
            "username": "admin",
            "default_tenant": "admin",
            **fields,
        }
        record = CloudRegion(**values)
        record.password = password
        record.save()
        return record

    return make


@pytest.fixture(autouse=True)
def _close_region_stamp_connection():
    """The region cache's own database connection must not outlive a test (or its database)."""
    yield
    from multicloud.vims import cache

    cache.close()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item):
    """Let background jobs (discovery, heatbridge) finish inside the test that started them.

    Runs before fixtures are torn down, so a job never writes to a database that is
    being flushed or that the next test owns.
    """
    from multicloud import jobs

    jobs.join_all(timeout=120)


# --------------------------------------------------------------------------- settings override


@pytest.fixture
def override_settings():
    """The one way a test changes settings: ``override_settings(MULTICLOUD_X="v", ...)``.

    The variables are set on top of the environment and the settings loaded again (checked
    as at start-up; ``None`` unsets one), and every cache derived from them is dropped; the
    new :class:`~multicloud.conf.Settings` is returned. All is restored after the test.
    """
    import os

    saved: dict[str, str | None] = {}

    def override(**variables: Any):
        for name, value in variables.items():
            saved.setdefault(name, os.environ.get(name))
            _set_env(name, None if value is None else str(value))
        return _reload_settings()

    yield override
    for name, value in saved.items():
        _set_env(name, value)
    _reload_settings()


def _set_env(name: str, value: str | None) -> None:
    import os

    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _reload_settings():
    from multicloud import crypto
    from multicloud.broker import handlers as broker_handlers
    from multicloud.conf import get_settings
    from multicloud.vims import aai_resolve

    get_settings.cache_clear()
    crypto._fernet.cache_clear()
    broker_handlers._vim_types_response.cache_clear()
    aai_resolve.clear()
    return get_settings()


def pytest_terminal_summary(terminalreporter):
    """One line per skip reason (``N skipped: reason``), not one line per skipped test."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, count in reasons.items():
        terminalreporter.write_line(f"{count} skipped: {reason}", yellow=True)
