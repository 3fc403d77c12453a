"""The passthrough's catalog mapping and URL rewriting."""

from __future__ import annotations

import pytest

from multicloud.proxy import catalog

PID = "8caf720f25dd46c3b1e011eed4753381"
PROXY = "http://mc:9001/api/multicloud/v0/osbox_RegionOne"


def entry(kind: str, name: str, url: str, region: str = "RegionOne") -> dict:
    return {
        "type": kind,
        "name": name,
        "endpoints": [
            {"interface": i, "region": region, "region_id": region, "url": url}
            for i in ("public", "internal")
        ],
    }


CATALOG = [
    entry("identity", "keystone", "http://ks:5000/v3"),
    entry("compute", "nova", "http://nova:8774/v2.1"),
    entry("image", "glance", "http://glance:9292"),
    entry("network", "neutron", "http://neutron:9696"),
    entry("volumev3", "cinderv3", f"http://cinder:8776/v3/{PID}"),
    entry("volumev2", "cinderv2", f"http://cinder:8776/v2/{PID}"),
    entry("orchestration", "heat", f"http://heat:8004/v1/{PID}"),
    entry("placement", "placement", "http://placement:8778"),
    entry("compute", "nova", "http://elsewhere:8774/v2.1", region="RegionTwo"),
]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://nova:8774/v2.1", ("http://nova:8774", "/v2.1")),
        (f"http://nova:8774/v2.1/{PID}", ("http://nova:8774", "/v2.1")),
        ("http://h/compute/v2.1/", ("http://h/compute", "/v2.1")),
        ("http://cinder:8776/v3/%(tenant_id)s", ("http://cinder:8776", "/v3")),
        ("http://glance:9292", ("http://glance:9292", "")),
        ("http://ks:5000/v3", ("http://ks:5000", "/v3")),
    ],
)
def test_a_catalog_url_splits_into_root_and_version(url, expected):
    assert catalog.split_endpoint(url, PID) == expected


def test_each_proxied_service_gets_its_own_catalog_url_and_others_are_left_alone():
    rewritten = catalog.rewrite_catalog(CATALOG, PID, "RegionOne", PROXY)
    urls = {(e["name"], e["endpoints"][0]["region"]): e["endpoints"][0]["url"] for e in rewritten}
    assert urls[("keystone", "RegionOne")] == f"{PROXY}/identity/v3"
    assert urls[("nova", "RegionOne")] == f"{PROXY}/nova/v2.1/{PID}"
    assert urls[("glance", "RegionOne")] == f"{PROXY}/glance"
    assert urls[("neutron", "RegionOne")] == f"{PROXY}/neutron"
    assert urls[("cinderv3", "RegionOne")] == f"{PROXY}/cinderv3/v3/{PID}"
    assert urls[("cinderv2", "RegionOne")] == f"{PROXY}/cinderv2/v2/{PID}"
    assert urls[("heat", "RegionOne")] == f"{PROXY}/heat/v1/{PID}"
    assert urls[("placement", "RegionOne")] == "http://placement:8778"
    assert urls[("nova", "RegionTwo")] == "http://elsewhere:8774/v2.1"
    assert CATALOG[1]["endpoints"][0]["url"] == "http://nova:8774/v2.1"  # a copy


def test_vio_paths_and_catalog_paths_reach_the_same_upstream():
    endpoints = catalog.endpoints_from_catalog(CATALOG, PID, "RegionOne", "http://ks:5000")
    assert endpoints.url("nova", f"{PID}/servers") == f"http://nova:8774/v2.1/{PID}/servers"
    assert endpoints.url("nova", f"v2.1/{PID}/servers") == f"http://nova:8774/v2.1/{PID}/servers"
    assert endpoints.url("nova", "") == "http://nova:8774"
    assert endpoints.url("cinderv3", f"{PID}/volumes") == f"http://cinder:8776/v3/{PID}/volumes"
    assert endpoints.url("glance", "v2/images") == "http://glance:9292/v2/images"
    assert endpoints.url("identity", "v3/projects") == "http://ks:5000/v3/projects"
    assert endpoints.url("designate", "v2/zones") is None


def test_the_registered_keystone_serves_identity_whatever_the_catalog_says():
    endpoints = catalog.endpoints_from_catalog(CATALOG, PID, "RegionOne", "https://public-ks")
    assert endpoints.url("identity", "v3") == "https://public-ks/v3"


def test_upstream_urls_in_bodies_and_headers_become_proxy_urls():
    endpoints = catalog.endpoints_from_catalog(CATALOG, PID, "RegionOne", "http://ks:5000")
    rewriter = catalog.Rewriter(endpoints.aliases, PROXY)
    assert rewriter.url("http://nova:8774/v2.1/servers/1") == f"{PROXY}/nova/v2.1/servers/1"
    assert rewriter.url("http://glance:9292") == f"{PROXY}/glance"
    assert rewriter.url("http://glance:92921/x") == "http://glance:92921/x"
    assert rewriter.url("http://other/x") == "http://other/x"
    body = {
        "servers_links": [{"rel": "next", "href": "http://nova:8774/v2.1/servers?marker=a"}],
        "name": "http-like name",
    }
    assert rewriter.json(body)["servers_links"][0]["href"] == (
        f"{PROXY}/nova/v2.1/servers?marker=a"
    )
    assert rewriter.json(body)["name"] == "http-like name"
    assert rewriter.text('Keystone uri="http://ks:5000/v3"') == (
        f'Keystone uri="{PROXY}/identity/v3"'
    )


def test_a_token_body_gets_the_catalog_mapping():
    endpoints = catalog.endpoints_from_catalog(CATALOG, PID, "RegionOne", "http://ks:5000")
    token = {"token": {"project": {"id": PID}, "catalog": CATALOG}}
    out = catalog.Rewriter(endpoints.aliases, PROXY).json(token, "RegionOne")
    nova = next(e for e in out["token"]["catalog"] if e["name"] == "nova")
    assert nova["endpoints"][0]["url"] == f"{PROXY}/nova/v2.1/{PID}"
