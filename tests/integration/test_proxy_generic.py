"""The VIO token contract (token.value) and the passthrough of unmapped catalog services."""

from __future__ import annotations

import json

import pytest

from tests.integration.proxy_helpers import auth_body, register, token

pytestmark = [pytest.mark.sandbox, pytest.mark.django_db(transaction=True)]

V0 = "/api/multicloud/v0/osbox_RegionOne"
PREFIXES = [
    V0,
    "/api/multicloud/v1/osbox/RegionOne",
    "/api/multicloud-vio/v0/osbox_RegionOne",
    "/api/multicloud-vio/v1/osbox/RegionOne",
]


@pytest.fixture
def region(api, sandbox):
    register(api, sandbox, V0)
    return V0


@pytest.mark.parametrize("base", PREFIXES)
def test_the_token_body_carries_the_subject_token_under_every_prefix(api, sandbox, region, base):
    answer = api.request(
        "POST", f"{base}/identity/v3/auth/tokens", json.dumps(auth_body(sandbox.admin)).encode()
    )
    assert answer.status == 201
    body = answer.json()["token"]
    assert body["value"] == answer.headers["x-subject-token"]
    for entry in body["catalog"]:
        for endpoint in entry["endpoints"]:
            assert f"{base}/" in endpoint["url"], (entry["type"], endpoint["url"])


def test_placement_is_reached_through_its_catalog_url(api, sandbox, region):
    value, body = token(api, region, sandbox.admin)
    (placement,) = [e for e in body["catalog"] if e["type"] == "placement"]
    url = next(e["url"] for e in placement["endpoints"] if e["interface"] == "public")
    path = url[url.index(region) :]
    assert path == f"{region}/placement"
    answer = api.request("GET", f"{path}/resource_providers", headers={"X-Auth-Token": value})
    assert answer.status == 200, answer.body
    providers = answer.json()["resource_providers"]
    assert providers and all(p["uuid"] for p in providers)
    # NOTE: links in Placement's answers point back at the proxy too.
    hrefs = [link["href"] for p in providers for link in p["links"]]
    assert all(href.startswith("/") or f"{region}/placement" in href for href in hrefs)


def test_placements_version_document_needs_no_token(api, region):
    answer = api.request("GET", f"{region}/placement")
    assert answer.status == 200
    assert answer.json()["versions"][0]["id"].startswith("v1")


def test_a_call_without_a_token_is_401_for_a_known_service(api, region):
    answer = api.request("GET", f"{region}/placement/resource_providers")
    assert answer.status == 401


def test_a_path_naming_no_service_stays_404(api, sandbox, region):
    assert api.request("GET", f"{region}/no-such-service/x").status == 404
    value, _ = token(api, region, sandbox.admin)
    found = api.request("GET", f"{region}/no-such-service/x", headers={"X-Auth-Token": value})
    assert found.status == 404
    assert found.json()["code"] == 404
