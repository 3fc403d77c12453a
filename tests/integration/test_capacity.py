"""capacity_check and check_vim_capacity against the sandbox Nova, in both frameworks."""

from __future__ import annotations

import json

import pytest

from tests.integration.regions import region_body
from tests.sandbox import require_cinder

pytestmark = [pytest.mark.sandbox, pytest.mark.django_db(transaction=True)]

SMALL = {"vCPU": 1, "Memory": 0.5, "Storage": 1}
HUGE = {"vCPU": 100000, "Memory": 1, "Storage": 1}


@pytest.fixture
def region(api, sandbox, admin_session):
    body = json.dumps(region_body(sandbox)).encode()
    assert api.request("POST", "/api/multicloud/v1/osbox/RegionOne/registry", body).status == 202
    hypervisors = admin_session.get(
        "/os-hypervisors/detail", endpoint_filter={"service_type": "compute"}
    ).json()["hypervisors"]
    return hypervisors


def post(api, path, body):
    return api.request("POST", path, json.dumps(body).encode())


def test_a_small_vm_fits_and_zone_totals_are_in_gb(api, region):
    answer = post(api, "/api/multicloud/v0/osbox_RegionOne/capacity_check", SMALL)
    assert answer.status == 200
    body = answer.json()
    assert body["result"] is True
    (zone,) = body["AZs"]
    assert zone["availability-zone-name"] == "nova"
    assert zone["vCPUTotal"] == sum(h["vcpus"] for h in region)
    assert zone["MemoryTotal"] == pytest.approx(sum(h["memory_mb"] for h in region) / 1024)
    assert zone["StorageTotal"] == sum(h["local_gb"] for h in region)
    assert zone["vCPUAvail"] <= zone["vCPUTotal"]


def test_more_vcpus_than_any_host_has_does_not_fit(api, region):
    answer = post(api, "/api/multicloud/v1/osbox/RegionOne/capacity_check", HUGE)
    assert answer.status == 200 and answer.json()["result"] is False


def test_check_vim_capacity_v0_keeps_the_regions_that_fit(api, region):
    answer = post(
        api,
        "/api/multicloud/v0/check_vim_capacity",
        {**SMALL, "VIMs": ["osbox_RegionOne", "osbox_Unknown"]},
    )
    assert answer.status == 200
    assert answer.json() == {"VIMs": ["osbox_RegionOne"]}


def test_check_vim_capacity_v1_echoes_the_regions_with_their_zones(api, region):
    wanted = [
        {"cloud-owner": "osbox", "cloud-region-id": "RegionOne"},
        {"cloud-owner": "osbox", "cloud-region-id": "Unknown"},
    ]
    answer = post(api, "/api/multicloud/v1/check_vim_capacity", {**SMALL, "VIMs": wanted})
    (kept,) = answer.json()["VIMs"]
    assert kept["cloud-owner"] == "osbox" and kept["cloud-region-id"] == "RegionOne"
    assert kept["AZs"][0]["availability-zone-name"] == "nova"


def test_check_vim_capacity_drops_a_region_that_cannot_host_it(api, region):
    answer = post(
        api, "/api/multicloud/v0/check_vim_capacity", {**HUGE, "VIMs": ["osbox_RegionOne"]}
    )
    assert answer.json() == {"VIMs": []}


@pytest.fixture
def cinder_quota(sandbox, admin_session):
    """Sets the admin project's Cinder ``gigabytes`` quota; resets it to the default after."""
    require_cinder(sandbox)
    path = f"/os-quota-sets/{admin_session.get_project_id()}"
    kw = {"endpoint_filter": {"service_type": "block-storage", "region_name": sandbox.region}}

    def set_room(gigabytes: int) -> None:
        usage = admin_session.get(f"{path}?usage=true", **kw).json()["quota_set"]
        limit = usage["gigabytes"]["in_use"] + usage["gigabytes"]["reserved"] + gigabytes
        admin_session.put(path, json={"quota_set": {"gigabytes": limit}}, **kw)

    yield set_room
    admin_session.delete(path, **kw)


def test_storage_beyond_the_cinder_quota_does_not_fit(api, region, cinder_quota):
    free_disk = max(h["local_gb"] - h["local_gb_used"] for h in region)
    assert free_disk >= 4  # NOTE: the hosts have the disk; only Cinder's quota can say no
    cinder_quota(3)
    path = "/api/multicloud/v1/osbox/RegionOne/capacity_check"
    assert post(api, path, {**SMALL, "Storage": 3}).json()["result"] is True
    assert post(api, path, {**SMALL, "Storage": 4}).json()["result"] is False
