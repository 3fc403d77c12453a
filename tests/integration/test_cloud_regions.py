"""Cloud-region registry against the sandbox cloud, in both web frameworks."""

from __future__ import annotations

import json

import pytest

from multicloud.vims.models import CloudRegion
from tests.integration.regions import region_body, wait_discovered

pytestmark = [pytest.mark.sandbox, pytest.mark.django_db(transaction=True)]

V0 = "/api/multicloud/v0/osbox_{region}"
V1 = "/api/multicloud/v1/osbox/{region}"


def register(api, sandbox, region="RegionOne", base=V1, **kwargs):
    body = json.dumps(region_body(sandbox, **kwargs)).encode()
    return api.request("POST", base.format(region=region) + "/registry", body)


def test_a_region_is_registered_at_once_and_discovered_in_the_background(api, sandbox):
    answer = register(api, sandbox)
    assert answer.status == 202
    assert answer.json()["vimId"] == "osbox_RegionOne"
    state = wait_discovered(api, V1.format(region="RegionOne") + "/registry")
    assert state["registry"]["status"] == "done", state["registry"]
    found = state["discovered"]
    assert {"admin", "demo"} <= {t["name"] for t in found["tenants"]}
    assert {"m1.tiny", "m1.small"} <= {f["name"] for f in found["flavors"]}
    assert "fake-image" in {i["name"] for i in found["images"]}
    assert "nova" in {z["name"] for z in found["availability-zones"]}
    assert found["hypervisors"] and found["errors"] == {}


def test_the_password_is_encrypted_at_rest_and_never_returned(api, sandbox):
    answer = register(api, sandbox)
    password = sandbox.admin.password
    assert password not in answer.body.decode()
    assert (
        password
        not in api.request("GET", V0.format(region="RegionOne") + "/registry").body.decode()
    )
    stored = CloudRegion.objects.get(cloud_owner="osbox")
    assert password not in stored.password_encrypted
    assert stored.password == password


def test_wrong_credentials_are_refused_and_nothing_is_stored(api, sandbox):
    answer = register(api, sandbox, password="wrong-password")
    assert answer.status == 400
    assert "rejected the credentials" in answer.json()["error"]
    assert not CloudRegion.objects.exists()
    assert api.request("GET", V1.format(region="RegionOne") + "/registry").status == 404


def test_an_unreachable_cloud_is_refused_and_nothing_is_stored(api, sandbox):
    answer = register(api, sandbox, **{"service-url": "http://127.0.0.1:1/v3"})
    assert answer.status == 400
    assert answer.json()["error"] == "the identity service cannot be used: it cannot be reached"
    assert not CloudRegion.objects.exists()


def test_registering_again_updates_the_region(api, sandbox):
    register(api, sandbox)
    answer = register(api, sandbox, creds=sandbox.demo)
    assert answer.status == 202
    assert answer.json()["esr-system-info"]["user-name"] == sandbox.demo.username
    record = CloudRegion.objects.get()
    assert record.generation == 2 and record.default_tenant == sandbox.demo.project_name


def test_a_non_admin_region_is_discovered_with_what_it_may_see(api, sandbox):
    register(api, sandbox, region="Demo", creds=sandbox.demo)
    state = wait_discovered(api, V1.format(region="Demo") + "/registry")
    assert state["registry"]["status"] == "done"
    assert [t["name"] for t in state["discovered"]["tenants"]] == [sandbox.demo.project_name]
    assert "hypervisors" in state["discovered"]["errors"]


def test_unregister_removes_the_region(api, sandbox):
    register(api, sandbox, base=V0)
    assert api.request("DELETE", "/api/multicloud/v0/osbox_RegionOne").status == 204
    assert api.request("GET", V0.format(region="RegionOne") + "/registry").status == 404
    assert api.request("DELETE", "/api/multicloud-vio/v1/osbox/RegionOne").status == 404


@pytest.mark.parametrize(
    "base",
    [
        "/api/multicloud/v0/osbox_RegionOne",
        "/api/multicloud/v1/osbox/RegionOne",
        "/api/multicloud-vio/v0/osbox_RegionOne",
        "/api/multicloud-vio/v1/osbox/RegionOne",
    ],
)
def test_tenants_lists_the_projects_in_every_namespace(api, sandbox, base):
    register(api, sandbox)
    answer = api.request("GET", f"{base}/tenants")
    assert answer.status == 200
    body = answer.json()
    assert body["vimId"] == "osbox_RegionOne" and body["cloud_owner"] == "osbox"
    assert {"admin", "demo"} <= {t["name"] for t in body["tenants"]}


def test_tenants_can_be_filtered_by_name(api, sandbox):
    register(api, sandbox)
    answer = api.request("GET", "/api/multicloud/v0/osbox_RegionOne/tenants?name=demo")
    assert [t["name"] for t in answer.json()["tenants"]] == ["demo"]


def test_tenants_of_an_unknown_region_is_404(api, sandbox):
    answer = api.request("GET", "/api/multicloud/v0/osbox_Nowhere/tenants")
    assert answer.status == 404
    assert answer.json()["error"] == "cloud region osbox_Nowhere is not registered"
