"""Create-by-URL's URL and address checks."""

from __future__ import annotations

import pytest

from multicloud.exceptions import BadRequest, Forbidden
from multicloud.images import fetch


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
    with pytest.raises(Forbidden, match="not in MULTICLOUD_IMAGE_URL_ALLOWLIST"):
        fetch.check_url(url, ("192.0.2.0/24",))


def test_an_allowed_address_passes_and_is_returned():
    assert fetch.check_url("http://127.0.0.1:8080/a.img", ("127.0.0.0/8",)) == (
        "http://127.0.0.1:8080/a.img",
        "127.0.0.1",
    )
