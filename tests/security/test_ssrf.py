"""T1 and T2: region takeover and SSRF (C1/C2, H1, N1, N5), in both frameworks."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.security.conftest import basic
from tests.security.fakes import (
    MARKER,
    Banner,
    CraftedCloud,
    FakeKeystone,
    Marker,
    Tarpit,
    region_body,
)
from tests.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)

V1 = "/api/multicloud/v1/CloudOwner/RegionOne"
V0 = "/api/multicloud/v0/CloudOwner_RegionOne"
VICTIM = {
    "auth": {
        "identity": {
            "methods": ["password"],
            "password": {
                "user": {"name": "so", "domain": {"name": "Default"}, "password": "VICTIM-PW"}
            },
        }
    }
}


def _body(url: str) -> bytes:
    return json.dumps(region_body(url)).encode()


@pytest.fixture
def clouds():
    made = []

    def make(cls=FakeKeystone, *args, **kwargs):
        made.append(cls(*args, **kwargs))
        return made[-1]

    yield make
    for fake in made:
        fake.close()


def test_t1_takeover_needs_the_admin_role_and_a_browser_form_is_refused(
    api, override_settings, api_users, clouds
):
    override_settings(MULTICLOUD_AUTH="basic")
    legit, evil = clouds(), clouds()
    admin = basic("admin", "admin-pass-1")
    assert api.request("POST", f"{V1}/registry", _body(legit.url), headers=admin).status == 202
    takeovers = [
        ({}, "application/json", 401),
        (basic("member", "member-pass-1"), "application/json", 403),
        (admin, "text/plain;charset=UTF-8", 415),
    ]
    for headers, kind, status in takeovers:
        answer = api.request("POST", f"{V1}/registry", _body(evil.url), headers, content_type=kind)
        assert answer.status == status
    victim = api.request("POST", f"{V1}/identity/v3/auth/tokens", json.dumps(VICTIM).encode())
    assert victim.status == 201
    assert "VICTIM-PW" in legit.bodies()
    assert evil.requests == []


def test_t2a_a_service_url_outside_the_allowlist_is_never_contacted(api, override_settings, clouds):
    override_settings(MULTICLOUD_CLOUD_ALLOWLIST="192.0.2.0/24,cloud.example")
    probe = clouds()
    answer = api.request("POST", f"{V0}/registry", _body(probe.url + "/internal/admin?probe=1#"))
    assert answer.status == 403
    assert answer.json()["error"] == "the cloud's address is outside MULTICLOUD_CLOUD_ALLOWLIST"
    assert probe.requests == []


def test_t2a_registration_errors_carry_no_transport_detail(api, override_settings):
    override_settings(MULTICLOUD_CLOUD_TIMEOUT="1")
    tarpit, banner = Tarpit(), Banner()
    try:
        ports = {"closed": free_port(), "tarpit": tarpit.port, "banner": banner.port}
        errors = {}
        for name, port in ports.items():
            url = f"http://127.0.0.1:{port}/internal/admin?probe=1#"
            answer = api.request("POST", f"{V0}/registry", _body(url))
            assert answer.status == 400
            errors[name] = answer.json()["error"]
    finally:
        tarpit.close()
        banner.close()
    for text in errors.values():
        assert "127.0.0.1" not in text and "Errno" not in text and "SSH" not in text
    assert len(set(errors.values())) == 1, errors


def test_t2b_a_catalog_endpoint_outside_the_allowlist_is_never_read(api, override_settings, clouds):
    override_settings(MULTICLOUD_CLOUD_ALLOWLIST="127.0.0.1/32")
    internal = clouds(Marker)
    evil = clouds(CraftedCloud, compute_url=internal.url)
    assert api.request("POST", f"{V0}/registry", _body(evil.url)).status == 202
    token = {"X-Auth-Token": "t1"}
    full_read = api.request("GET", f"{V0}/nova/marker.txt", headers=token)
    anonymous = api.request("GET", f"{V0}/nova")  # N1: the version document, no token
    time.sleep(0.2)
    for answer in (full_read, anonymous):
        assert answer.status == 403, answer.body
        assert MARKER not in answer.body
    assert internal.hits == []


def test_l1_l2_only_allowed_headers_cross_and_no_cookie_is_shared(api, clouds):
    cloud = clouds(CraftedCloud)
    # NOTE: fresh tokens: the proxy caches endpoints per (region, token) in the process.
    one, two = f"a-{uuid.uuid4()}", f"b-{uuid.uuid4()}"
    cloud.tokens.update({one: ["admin"], two: ["admin"]})
    cloud.internal_headers = [
        ("Set-Cookie", "lb=caller-a; Path=/"),
        ("Access-Control-Allow-Origin", "*"),
        ("X-Openstack-Request-Id", "req-1"),
    ]
    assert api.request("POST", f"{V0}/registry", _body(cloud.url)).status == 202
    first = api.request(
        "GET",
        f"{V0}/nova/v2.1/servers",
        headers={
            "X-Auth-Token": one,
            "Cookie": "session=caller-secret",
            "Authorization": "Basic c2VjcmV0",
            "X-Forwarded-For": "10.0.0.1",
        },
    )
    assert first.status == 200
    assert "set-cookie" not in first.headers
    assert "access-control-allow-origin" not in first.headers
    assert first.headers["x-openstack-request-id"] == "req-1"
    second = api.request("GET", f"{V0}/nova/v2.1/servers", headers={"X-Auth-Token": two})
    assert second.status == 200
    upstream = [r["headers"] for r in cloud.requests if r["path"] == "/internal/v2.1/servers"]
    assert len(upstream) == 2
    for headers in upstream:
        names = {name.lower() for name in headers}
        assert not names & {"cookie", "authorization", "x-forwarded-for"}, headers


def test_m4_discovery_errors_name_no_internal_address(api, clouds):
    closed = free_port()
    cloud = clouds(CraftedCloud, compute_url=f"http://127.0.0.1:{closed}")
    assert api.request("POST", f"{V0}/registry", _body(cloud.url)).status == 202
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = api.request("GET", f"{V0}/registry").json()
        if state["registry"]["status"] in ("done", "failed"):
            break
        time.sleep(0.2)
    text = json.dumps(state)
    assert state["registry"]["status"] in ("done", "failed")
    assert f":{closed}" not in text and "Errno" not in text and "refused" not in text.lower()


def test_l5_a_token_the_regions_keystone_refused_is_not_asked_again(api, override_settings, clouds):
    keystone = clouds()
    assert api.request("POST", f"{V0}/registry", _body(keystone.url)).status == 202
    bogus = {"X-Auth-Token": f"bogus-{uuid.uuid4()}"}
    before = keystone.validations()
    for _ in range(3):
        answer = api.request("GET", f"{V0}/nova/v2.1/servers", headers=bogus)
        assert answer.status == 401 and answer.json()["code"] == 401
    assert keystone.validations() - before == 1  # the refusal is remembered
    override_settings(MULTICLOUD_AUTH_NEGATIVE_TTL="0")
    other = {"X-Auth-Token": f"bogus-{uuid.uuid4()}"}
    for _ in range(2):
        assert api.request("GET", f"{V0}/nova/v2.1/servers", headers=other).status == 401
    assert keystone.validations() - before == 3  # without it, each call asks
