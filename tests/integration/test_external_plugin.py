"""The broker forwards regions of plugin-served types; the plugin is a second instance."""

from __future__ import annotations

import json

import pytest
import requests

from multicloud.vims.models import CloudRegion
from tests.integration.regions import region_body
from tests.servers import Service

pytestmark = [pytest.mark.sandbox, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def plugin(tmp_path, sandbox):
    """A second instance of this service, serving the sandbox cloud in-process."""
    svc = Service(tmp_path, WEB_FRAMEWORK="pecan")
    try:
        svc.wait_ready()
        yield svc
    finally:
        svc.stop()


@pytest.fixture
def broker_with_plugin(override_settings, plugin):
    plugins = [
        {
            "cloud_type": "openstack",
            "versions": ["starlingx"],
            "url": f"{plugin.url}/api/multicloud-vio",
        }
    ]
    override_settings(MULTICLOUD_PLUGINS=json.dumps(plugins))
    return plugin


def register(api, sandbox, version):
    body = {**region_body(sandbox), "cloud-region-version": version}
    return api.request(
        "POST", "/api/multicloud/v1/stx/RegionOne/registry", json.dumps(body).encode()
    )


def test_a_plugin_served_region_is_registered_through_the_plugin(api, sandbox, broker_with_plugin):
    answer = register(api, sandbox, "starlingx")
    assert answer.status == 202
    assert answer.json()["vimId"] == "stx_RegionOne"
    ours = CloudRegion.objects.get(cloud_owner="stx")
    assert ours.cloud_region_version == "starlingx" and ours.password_encrypted == ""
    theirs = requests.get(
        f"{broker_with_plugin.url}/api/multicloud-vio/v1/stx/RegionOne/registry", timeout=10
    )
    assert theirs.status_code == 200


def test_requests_for_a_plugin_region_are_answered_by_the_plugin(api, sandbox, broker_with_plugin):
    register(api, sandbox, "starlingx")
    answer = api.request("GET", "/api/multicloud/v0/stx_RegionOne/tenants")
    assert answer.status == 200
    assert {"admin", "demo"} <= {t["name"] for t in answer.json()["tenants"]}
    missing = api.request("GET", "/api/multicloud/v0/stx_RegionOne/no/such/thing")
    assert missing.status == 404 and "no such resource" in missing.json()["error"]


def test_capacity_fan_out_reaches_plugin_regions(api, sandbox, broker_with_plugin):
    register(api, sandbox, "starlingx")
    body = {
        "vCPU": 1,
        "Memory": 0.5,
        "Storage": 1,
        "VIMs": [{"cloud-owner": "stx", "cloud-region-id": "RegionOne"}],
    }
    answer = api.request("POST", "/api/multicloud/v1/check_vim_capacity", json.dumps(body).encode())
    (kept,) = answer.json()["VIMs"]
    assert kept["cloud-owner"] == "stx" and kept["AZs"]


def test_unregistering_removes_the_region_here_and_at_the_plugin(api, sandbox, broker_with_plugin):
    register(api, sandbox, "starlingx")
    assert api.request("DELETE", "/api/multicloud/v1/stx/RegionOne").status == 204
    assert not CloudRegion.objects.filter(cloud_owner="stx").exists()
    theirs = requests.get(
        f"{broker_with_plugin.url}/api/multicloud-vio/v1/stx/RegionOne/registry", timeout=10
    )
    assert theirs.status_code == 404


def test_plugin_types_are_listed_in_vim_types(api, broker_with_plugin):
    types = api.request("GET", "/api/multicloud/v0/vim_types").json()
    assert {
        "vim_type": "openstack",
        "versions": ["titanium_cloud", "ocata", "pike", "starlingx"],
    } in types


def test_a_plugin_refusing_the_registration_stores_nothing(api, sandbox, broker_with_plugin):
    body = {**region_body(sandbox, password="wrong"), "cloud-region-version": "starlingx"}
    answer = api.request(
        "POST", "/api/multicloud/v1/stx/RegionOne/registry", json.dumps(body).encode()
    )
    assert answer.status == 400
    assert "rejected the credentials" in answer.json()["error"]
    assert not CloudRegion.objects.exists()


def test_an_unreachable_plugin_is_a_clear_502(api, sandbox, broker_with_plugin):
    broker_with_plugin.stop()
    answer = register(api, sandbox, "starlingx")
    assert answer.status == 502
    assert "cannot reach the plugin for openstack" in answer.json()["error"]
