"""Pytest fixtures for the A&AI double and the ``aai`` registry mode.

Every test has them (``pytest_plugins`` of tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

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


@pytest.fixture
def use_aai(override_settings) -> Callable[..., None]:
    """``use_aai(double, **settings)`` switches to ``aai`` mode for one test (undone after it)."""

    def use(aai: FakeAai, **extra: str) -> None:
        override_settings(
            MULTICLOUD_REGISTRY="aai",
            AAI_URL=aai.url,
            AAI_SCHEMA_VERSION=f"v{aai.version}",
            AAI_USERNAME=aai.basic_auth[0],
            AAI_PASSWORD=aai.basic_auth[1],
            AAI_CA_FILE=aai.ca_file or None,
            **extra,
        )

    return use


@pytest.fixture
def aai_mode(use_aai, fake_aai) -> FakeAai:
    """The service in ``MULTICLOUD_REGISTRY=aai`` mode against the double."""
    use_aai(fake_aai)
    return fake_aai
