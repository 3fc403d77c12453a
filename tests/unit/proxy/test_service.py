"""The passthrough service's pure parts: query strings, public paths, the token cache."""

from __future__ import annotations

import time

import pytest

from multicloud.proxy import catalog, service


def test_query_strings_keep_every_pair_and_are_percent_encoded():
    query = [("name", "a b"), ("name", "c&d"), ("flag", "")]
    assert service._with_query("http://x/y", query) == "http://x/y?name=a%20b&name=c%26d&flag="
    assert service._with_query("http://x/y", []) == "http://x/y"


@pytest.mark.parametrize(
    ("rest", "public"),
    [("", True), ("v3", True), ("v2.1/", True), ("v2/images", False), ("servers", False)],
)
def test_only_version_documents_are_public(rest, public):
    assert service.is_version_path(rest) is public


def test_the_cache_is_keyed_by_region_and_token_and_forgets_revoked_tokens():
    cache = service._EndpointCache(3)
    endpoints = catalog.endpoints_from_catalog([], None, None, "http://ks")
    cache.put("a_1", "tok", endpoints, time.time() + 60)
    assert cache.get("a_1", "tok") is endpoints
    assert cache.get("b_1", "tok") is None
    assert cache.get("a_1", "other") is None
    cache.put("b_1", "tok", endpoints, time.time() - 1)
    assert cache.get("b_1", "tok") is None  # expired
    cache.put("b_1", "tok", endpoints, time.time() + 60)
    cache.put("a_1", "other", endpoints, time.time() + 60)
    stored = [part for key in cache.items for part in key]
    assert len(cache.items) == 3
    assert not any("tok" in part or "other" in part for part in stored)  # digests, never tokens
    cache.forget("tok")
    assert cache.get("a_1", "tok") is None and cache.get("b_1", "tok") is None
    assert list(cache.items) == [(service._digest("other"), "a_1")]  # other tokens stay
    assert cache.get("a_1", "other") is endpoints
