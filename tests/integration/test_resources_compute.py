"""Typed flavors, servers (and actions), hosts, limits, extensions against the sandbox Nova."""

from __future__ import annotations

import base64

import pytest

from tests.integration.resources_helpers import DECORATION, V0, boot, post, unique, wait_status

pytestmark = [pytest.mark.sandbox, pytest.mark.django_db(transaction=True)]


# --------------------------------------------------------------------------- flavors


def make_flavor(api, cloud, typed, **changes) -> tuple[dict, object]:
    body = {"name": unique("flv"), "vcpu": 1, "memory": 64, "disk": 1, **changes}
    answer = post(api, f"{typed}/flavors", body)
    if answer.status == 201:
        cloud.track("compute", f"/flavors/{answer.json()['id']}")
    return body, answer


def test_a_flavor_is_created_with_extra_specs_found_listed_and_deleted(api, typed, cloud):
    specs = [{"keyName": "hw:cpu_policy", "value": "dedicated"}]
    body, answer = make_flavor(api, cloud, typed, extraSpecs=specs, swap=0, isPublic=False)
    assert answer.status == 201, answer.body
    made = answer.json()
    assert made["returnCode"] == 1 and made["extraSpecs"] == specs
    assert answer.headers["location"].endswith(f"{typed}/flavors/{made['id']}")
    assert {k: made[k] for k in ("name", "vcpu", "memory", "disk")} == {
        k: body[k] for k in ("name", "vcpu", "memory", "disk")
    }
    assert made["isPublic"] is False and {**made, **DECORATION} == made
    real = cloud.get("compute", f"/flavors/{made['id']}/os-extra_specs").json()
    assert real["extra_specs"] == {"hw:cpu_policy": "dedicated"}
    by_name = api.request("GET", f"{typed}/flavors/{body['name']}")
    assert by_name.status == 200 and by_name.json()["id"] == made["id"]
    listed = api.request("GET", f"{typed}/flavors?name={body['name']}").json()["flavors"]
    assert [f["id"] for f in listed] == [made["id"]] and listed[0]["extraSpecs"] == specs
    again = post(api, f"{typed}/flavors", body)
    assert again.status == 200 and again.json()["returnCode"] == 0
    assert again.json()["id"] == made["id"]
    assert api.request("DELETE", f"{typed}/flavors/{made['id']}").status == 204
    assert api.request("GET", f"{typed}/flavors/{made['id']}").status == 404
    assert api.request("DELETE", f"{typed}/flavors/{made['id']}").status == 404


def test_flavors_are_paged_with_limit_and_marker(api, typed):
    everything = api.request("GET", f"{typed}/flavors").json()["flavors"]
    assert len(everything) >= 2
    first = api.request("GET", f"{typed}/flavors?limit=1").json()["flavors"]
    assert len(first) == 1
    rest = api.request("GET", f"{typed}/flavors?marker={first[0]['id']}").json()["flavors"]
    assert first[0]["id"] not in {f["id"] for f in rest}
    assert len(rest) == len(everything) - 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"vcpu": None}, "vcpu"),
        ({"memory": "lots"}, "memory"),
        ({"vcpu": 0}, "vcpu"),
        ({"extraSpecs": [{"keyName": "k"}]}, "extraSpecs.0.value"),
    ],
)
def test_a_malformed_flavor_is_400_naming_the_field(api, typed, changes, field):
    body = {"name": unique("flv"), "vcpu": 1, "memory": 64, **changes}
    body = {k: v for k, v in body.items() if v is not None}
    answer = post(api, f"{typed}/flavors", body)
    assert answer.status == 400 and answer.json()["field"] == field


def test_a_body_that_is_not_json_is_400(api, typed):
    answer = api.request("POST", f"{typed}/flavors", b"{not json")
    assert answer.status == 400 and "JSON" in answer.json()["error"]


def test_extra_specs_nova_refuses_leave_no_flavor_behind(api, typed, cloud):
    specs = [{"keyName": "no/slash!", "value": "x"}]
    body, answer = make_flavor(api, cloud, typed, extraSpecs=specs)
    assert answer.status == 400, answer.body
    assert "no/slash!" in answer.json()["error"]
    assert api.request("GET", f"{typed}/flavors/{body['name']}").status == 404


# --------------------------------------------------------------------------- servers


def test_a_server_is_booted_found_listed_driven_and_deleted(api, typed, cloud):
    body, answer = boot(
        api,
        cloud,
        typed,
        metadata={"role": "test"},
        userdata="#cloud-config\nhostname: mc\n",
        securityGroups=["default"],
        availabilityZone="nova",
    )
    assert answer.status == 202, answer.body
    made = answer.json()
    path = f"{typed}/servers/{made['id']}"
    assert answer.headers["location"].endswith(path)
    assert made["returnCode"] == 1 and made["name"] == body["name"]
    assert made["securityGroups"] == ["default"] and made["availabilityZone"] == "nova"
    assert {**made, **DECORATION} == made and made["tenantId"] == "admin"
    server = wait_status(api, path, "ACTIVE")
    assert server["metadata"] == {"role": "test"} and server["availabilityZone"] == "nova"
    assert server["boot"]["type"] == 2 and server["nicArray"] == []
    assert server["userdata"] == body["userdata"]
    real = cloud.get("compute", f"/servers/{made['id']}").json()["server"]
    assert base64.b64decode(real["OS-EXT-SRV-ATTR:user_data"]).decode() == body["userdata"]
    assert real["flavor"]["id"] == server["flavorId"]
    by_name = api.request("GET", f"{typed}/servers/{body['name']}").json()
    assert by_name["id"] == made["id"]
    listed = api.request("GET", f"{typed}/servers?name={body['name']}").json()["servers"]
    assert [s["id"] for s in listed] == [made["id"]]
    paged = api.request("GET", f"{typed}/servers?limit=1").json()["servers"]
    assert len(paged) == 1
    again = post(api, f"{typed}/servers", body)
    assert again.status == 200 and again.json()["returnCode"] == 0
    assert again.json()["id"] == made["id"]
    drive(api, path)
    assert api.request("DELETE", path).status == 204
    # NOTE: the sandbox Nova keeps deleted servers restorable for a while (soft delete).
    gone = cloud.wait(
        "compute",
        f"/servers/{made['id']}",
        "server",
        lambda s: s is None or s["status"] == "SOFT_DELETED",
    )
    if gone is None:
        assert api.request("GET", path).status == 404
    else:
        assert api.request("GET", path).json()["status"] == "SOFT_DELETED"
    assert api.request("DELETE", f"{typed}/servers/no-such-server").status == 404
    assert (
        api.request("POST", f"{typed}/servers/no-such/action", b'{"os-stop": null}').status == 404
    )


def act(api, path: str, body: bytes, status: str | None) -> None:
    answer = api.request("POST", f"{path}/action", body)
    assert answer.status == 202, answer.body
    assert answer.body == b""
    if status:
        wait_status(api, path, status)


def drive(api, path: str) -> None:
    """Every action, and Nova's refusal of one the state does not allow."""
    act(api, path, b'{"os-stop": null}', "SHUTOFF")
    refused = api.request("POST", f"{path}/action", b'{"os-stop": null}')
    assert refused.status == 409
    assert "stop" in refused.json()["error"] and "vm_state" in refused.json()["error"]
    act(api, path, b'{"os-start": {}}', "ACTIVE")
    act(api, path, b'{"reboot": {"type": "HARD"}}', "ACTIVE")
    act(api, path, b'{"reboot": {"type": "SOFT"}}', "ACTIVE")
    act(api, path, b'{"pause": null}', "PAUSED")
    act(api, path, b'{"unpause": null}', "ACTIVE")
    act(api, path, b'{"suspend": null}', "SUSPENDED")
    act(api, path, b'{"resume": null}', "ACTIVE")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"explode": null}', None),
        (b'{"os-start": null, "os-stop": null}', None),
        (b'{"reboot": {"type": "MEDIUM"}}', "reboot.type"),
        (b'{"pause": {"now": true}}', "pause"),
        (b"[]", None),
    ],
)
def test_a_malformed_action_is_400(api, typed, body, field):
    answer = api.request("POST", f"{typed}/servers/any/action", body)
    assert answer.status == 400, answer.body
    assert answer.json().get("field") == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"flavorId": None}, "flavorId"),
        ({"flavorId": "no-such-flavor"}, "flavorId"),
        ({"boot": {"type": 3, "imageId": "x"}}, "boot.type"),
        ({"boot": {"type": 2}}, "boot.imageId"),
        ({"boot": {"type": 1}}, "boot.volumeId"),
        ({"boot": {"type": 2, "imageId": "no-such-image"}}, "boot.imageId"),
        ({"nicArray": [{}]}, "nicArray.0"),
        ({"metadata": {"a": 1}}, "metadata.a"),
    ],
)
def test_a_malformed_server_is_400_naming_the_field(api, typed, cloud, changes, field):
    body = {
        "name": unique("vm"),
        "flavorId": "m1.tiny",
        "boot": {"type": 2, "imageId": "fake-image"},
        **changes,
    }
    body = {k: v for k, v in body.items() if v is not None}
    answer = post(api, f"{typed}/servers", body)
    assert answer.status == 400, answer.body
    assert answer.json()["field"] == field
    listed = cloud.get("compute", "/servers", params={"name": body["name"]}).json()
    assert listed["servers"] == []


def test_booting_beyond_the_quota_is_409_with_novas_message(
    api,
    typed,
    cloud,
    project,
):
    body, answer = make_flavor(api, cloud, typed, vcpu=100000)
    assert answer.status == 201
    _, boot_answer = boot(api, cloud, typed, flavorId=body["name"])
    assert boot_answer.status == 409, boot_answer.body
    assert "quota" in boot_answer.json()["error"].lower()


# --------------------------------------------------------------------------- hosts, limits


def test_hosts_are_novas_services_and_one_host_is_its_hypervisor(api, typed, cloud):
    hosts = api.request("GET", f"{typed}/hosts").json()
    compute = [h for h in hosts["hosts"] if h["service"] == "nova-compute"]
    assert compute and compute[0]["zone"] == "nova"
    hypervisors = cloud.get("compute", "/os-hypervisors/detail").json()["hypervisors"]
    name = hypervisors[0]["hypervisor_hostname"]
    one = api.request("GET", f"{typed}/hosts/{name}")
    assert one.status == 200, one.body
    host = one.json()["host"]
    assert host["name"] == name and host["cpu"] == hypervisors[0]["vcpus"]
    assert host["memory_mb"] == hypervisors[0]["memory_mb"]
    assert api.request("GET", f"{typed}/hosts/no-such.host").status == 404


def test_limits_join_nova_and_neutron_quotas_with_their_usage(
    api,
    typed,
    cloud,
    project,
):
    limits = api.request("GET", f"{typed}/limits")
    assert limits.status == 200
    body = limits.json()
    nova = cloud.get("compute", "/limits").json()["limits"]["absolute"]
    assert body["maxTotalCores"] == nova["maxTotalCores"]
    assert body["totalInstancesUsed"] == nova["totalInstancesUsed"]
    quota = cloud.get("network", f"/v2.0/quotas/{project}/details").json()["quota"]
    assert body["port"] == quota["port"]["limit"] and body["port_used"] == quota["port"]["used"]
    assert body["tenantId"] == "admin"


def test_extensions_answer_an_empty_list(api, typed):
    answer = api.request("GET", f"{V0}/extensions")
    assert answer.status == 200 and answer.json()["extensions"] == []


# --------------------------------------------------------------------------- region, tenant


TYPED_GETS = ("flavors", "servers", "networks", "subnets", "ports", "volumes", "hosts", "limits")


@pytest.mark.parametrize("what", TYPED_GETS)
def test_an_unknown_tenant_is_404(api, typed, what):
    answer = api.request("GET", f"{V0}/no-such-project/{what}")
    assert answer.status == 404, answer.body
    assert "no-such-project" in answer.json()["error"]


@pytest.mark.parametrize(
    "what", ["flavors/x1", "servers/x1", "networks/x1", "subnets/x1", "ports/x1", "volumes/x1"]
)
def test_an_unknown_resource_is_404_with_a_json_body(api, typed, what):
    answer = api.request("GET", f"{typed}/{what}")
    assert answer.status == 404, answer.body
    error = answer.json()["error"]
    # NOTE: a region without Cinder says so for volumes (a sandbox started with OSBOX_CINDER=0).
    assert answer.json()["code"] == 404 and ("x1" in error or "no block-storage" in error)


def test_a_tenant_id_works_like_its_name(api, typed, project):
    answer = api.request("GET", f"{V0}/{project}/flavors")
    assert answer.status == 200 and answer.json()["tenantId"] == project


@pytest.mark.parametrize("limit", ["0", "1001", "x"])
def test_a_bad_limit_is_400(api, typed, limit):
    answer = api.request("GET", f"{typed}/servers?limit={limit}")
    assert answer.status == 400 and answer.json()["field"] == "limit"
