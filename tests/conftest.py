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

    get_settings.cache_clear()
    crypto._fernet.cache_clear()
    broker_handlers._vim_types_response.cache_clear()
    return get_settings()
