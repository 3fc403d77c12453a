"""Create-by-URL's URL and address checks."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace

import pytest
import requests

from multicloud.exceptions import BadRequest, Forbidden
from multicloud.images import fetch
from multicloud.images.metadata import parse_meta


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "gopher://127.0.0.1/", "ftp://127.0.0.1/x", "//127.0.0.1/x"]
)
def test_only_http_urls_are_fetched(url):
    with pytest.raises(BadRequest, match="http"):
        fetch.check_url(url, ("0.0.0.0/0",))


def test_url_fetch_is_off_with_an_empty_allowlist():
    with pytest.raises(Forbidden, match="disabled"):
        fetch.check_url("http://127.0.0.1/x.img", ())


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:9292/v2/images",
        "http://localhost/x",
        "http://[::1]/x",
        "http://10.1.2.3/x",
    ],
)
def test_addresses_outside_the_allowlist_are_refused(url):
    with pytest.raises(Forbidden, match="outside MULTICLOUD_IMAGE_URL_ALLOWLIST"):
        fetch.check_url(url, ("192.0.2.0/24",))


def test_a_refusal_names_no_address_the_name_resolved_to(caplog):
    """M4: the DNS answer goes to the log, never into the error body."""
    with pytest.raises(Forbidden) as refused:
        fetch.check_url("http://localhost/x", ("192.0.2.0/24",))
    assert "127.0.0.1" not in refused.value.message and "::1" not in refused.value.message
    assert "resolves to" in caplog.text


def test_an_unresolvable_host_is_400_without_the_resolver_s_words(monkeypatch):
    def fails(*args, **kwargs):
        raise OSError("[Errno -2] Name or service not known (resolver 10.0.0.53)")

    monkeypatch.setattr(fetch.socket, "getaddrinfo", fails)
    with pytest.raises(BadRequest) as refused:
        fetch.check_url("http://nowhere.invalid/x", ("192.0.2.0/24",))
    assert refused.value.message == "imagePath host 'nowhere.invalid' cannot be resolved"


def test_an_allowed_address_passes_and_is_returned():
    assert fetch.check_url("http://127.0.0.1:8080/a.img", ("127.0.0.0/8",)) == (
        "http://127.0.0.1:8080/a.img",
        "127.0.0.1",
    )


@pytest.mark.django_db
def test_a_failed_fetch_logs_no_part_of_its_url(override_settings, tmp_path, monkeypatch, caplog):
    """L4: a URL's path or query may carry a token; the log names only the error's type."""
    override_settings(MULTICLOUD_IMAGE_STAGING_DIR=str(tmp_path))

    def refused(url):
        raise requests.ConnectionError(f"cannot connect to {url}")

    monkeypatch.setattr(fetch, "_fetch", refused)
    deleted: list[str] = []
    target = SimpleNamespace(
        region=SimpleNamespace(vim_id="o_r"),
        tenant="t",
        glance=SimpleNamespace(images=SimpleNamespace(delete=deleted.append)),
        errors=contextlib.nullcontext,
    )
    meta = parse_meta({"name": "n", "imageType": "raw"})
    fetch.run(target, "img-1", "https://h.example/disk.raw?token=SECRET-TOKEN", meta)
    assert deleted == ["img-1"]  # the half-created image goes
    assert "ConnectionError" in caplog.text and "SECRET-TOKEN" not in caplog.text
    assert list(tmp_path.iterdir()) == []
