"""Pytest fixtures for the A&AI double and the ``aai`` registry mode.

Import them where needed: ``from tests.doubles.aai_fixtures import aai_mode, fake_aai``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.doubles.aai import FakeAai

OWNER = "osbox"
HEADERS = {"X-FromAppId": "test", "X-TransactionId": "t-1"}
AUTH = ("AAI", "AAI")


def cloud_region_path(owner: str, region: str) -> str:
    return f"/cloud-infrastructure/cloud-regions/cloud-region/{owner}/{region}"


@pytest.fixture
def fake_aai() -> Iterator[FakeAai]:
    """A&AI at v13 on a free loopback port, OOM's default credentials."""
    with FakeAai(version=13) as aai:
        yield aai


def _use(monkeypatch, aai: FakeAai, **extra: str) -> None:
    from multicloud.conf import get_settings
    from multicloud.vims import aai_resolve

    monkeypatch.setenv("MULTICLOUD_REGISTRY", "aai")
    monkeypatch.setenv("AAI_URL", aai.url)
    monkeypatch.setenv("AAI_SCHEMA_VERSION", f"v{aai.version}")
    monkeypatch.setenv("AAI_USERNAME", aai.basic_auth[0])
    monkeypatch.setenv("AAI_PASSWORD", aai.basic_auth[1])
    if aai.ca_file:
        monkeypatch.setenv("AAI_CA_FILE", aai.ca_file)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    aai_resolve.clear()


def _reset() -> None:
    from multicloud.conf import get_settings
    from multicloud.vims import aai_resolve

    get_settings.cache_clear()
    aai_resolve.clear()


@pytest.fixture
def use_aai(monkeypatch) -> Iterator:
    """``use_aai(double, **settings)`` switches to ``aai`` mode for one test (undone after it)."""

    def use(aai: FakeAai, **extra: str) -> None:
        _use(monkeypatch, aai, **extra)

    yield use
    monkeypatch.undo()
    _reset()


@pytest.fixture
def aai_mode(use_aai, fake_aai) -> FakeAai:
    """The service in ``MULTICLOUD_REGISTRY=aai`` mode against the double."""
    use_aai(fake_aai)
    return fake_aai
