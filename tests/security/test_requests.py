"""T8 (Host header, H3), T10 (amplification and robustness 500s), in both frameworks."""

from __future__ import annotations

import json

import pytest

from multicloud.capacity import fanout
from tests.security.fakes import CraftedCloud, region_body

pytestmark = pytest.mark.django_db(transaction=True)

V0 = "/api/multicloud/v0/CloudOwner_RegionOne"
V1 = "/api/multicloud/v1/CloudOwner/RegionOne"


@pytest.fixture
def mc_example(override_settings):
    override_settings(MULTICLOUD_ALLOWED_HOSTS="mc.example,.mc.example")
    fake = CraftedCloud()
    yield fake
    fake.close()


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("GET", f"{V0}/identity/v3", b""),
        ("GET", f"{V1}/registry", b""),
        ("POST", f"{V1}/identity/v3/auth/tokens", b'{"auth": {}}'),
        ("POST", f"{V1}/registry", b"{}"),
        ("GET", "/api/multicloud/v0/healthcheck", b""),
    ],
)
def test_t8_a_foreign_host_header_is_400(api, mc_example, method, path, body):
    answer = api.request(method, path, body, headers={"Host": "attacker.example"})
    assert answer.status == 400
    assert answer.json()["error"] == "the Host header names no host this service answers to"


def test_t8_links_name_only_an_allowed_host(api, mc_example):
    registered = api.request(
        "POST",
        f"{V1}/registry",
        json.dumps(region_body(mc_example.url)).encode(),
        headers={"Host": "mc.example"},
    )
    assert registered.status == 202
    answer = api.request("GET", f"{V0}/identity/v3", headers={"Host": "api.mc.example:9001"})
    assert answer.status == 200
    assert "http://api.mc.example:9001/api/multicloud/v0/" in answer.body.decode()
    assert api.request("GET", f"{V0}/identity/v3", headers={"Host": "a b"}).status == 400


def test_t1_a_text_plain_json_body_is_415(api):
    answer = api.request("POST", f"{V1}/registry", b"{}", content_type="text/plain")
    assert answer.status == 415
    assert answer.json()["code"] == 415


DEEP = b"[" * 100000 + b"]" * 100000


@pytest.mark.parametrize(
    "path,body",
    [
        (f"{V0}/registry", DEEP),
        (f"{V0}/event_subscriptions", DEEP),
        (f"{V0}/identity/v3/auth/tokens", DEEP),
        (f"{V0}/capacity_check", b'{"vCPU": 1e999}'),
        ("/api/multicloud/v0/check_vim_capacity", b'{"vCPU": 1e999, "VIMs": []}'),
        ("/api/multicloud/v0/check_vim_capacity", b'{"Memory": 1e999, "VIMs": []}'),
    ],
)
def test_t10c_hostile_bodies_are_400_not_500(api, path, body):
    answer = api.request("POST", path, body)
    assert answer.status in (400, 404), answer.body  # 404: an unknown region, after parsing
    assert answer.json()["code"] == answer.status


def test_t10a_check_vim_capacity_takes_at_most_100_distinct_regions(api):
    vims = [f"Owner_R{i}" for i in range(101)]
    body = json.dumps({"vCPU": 1, "Memory": 1, "Storage": 1, "VIMs": vims}).encode()
    answer = api.request("POST", "/api/multicloud/v0/check_vim_capacity", body)
    assert answer.status == 400
    assert answer.json()["error"] == "VIMs may list at most 100 distinct regions"


def test_t10a_duplicate_regions_are_asked_once():
    pairs = fanout.parse_vims({"VIMs": ["Owner_R1"] * 100000 + ["Owner_R2"]}, "v0")
    assert pairs == [("Owner", "R1"), ("Owner", "R2")]


def test_t10c_a_huge_range_number_is_not_a_500():
    from multicloud.images.ranges import parse_range

    assert parse_range("bytes=" + "9" * 5000 + "-", 100) is None


@pytest.mark.parametrize(
    "path",
    [
        f"{V0}/nova/v2.1/../../../secret",
        f"{V0}/nova/v2.1/%2e%2e/%2E%2E/secret",
        f"{V0}/nova/v2.1/./servers",
        f"{V0}/glance/v2/images%3Fx=1",
        f"{V0}/glance/v2/images%23frag",
        "/api/multicloud/v0/Owner_Plugin/x/%2e%2e/%2e%2e/%2e%2e/admin",
    ],
)
def test_m6_dot_segments_and_encoded_query_or_fragment_are_400(api, path):
    answer = api.request("GET", path, headers={"X-Auth-Token": "t"})
    assert answer.status == 400
    assert answer.json()["code"] == 400
