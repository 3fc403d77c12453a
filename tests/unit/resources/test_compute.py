"""Nova flavors and servers in the VIO contract's names."""

from __future__ import annotations

import base64

from multicloud.resources import compute


def test_a_flavor_keeps_its_extra_specs_as_key_value_pairs():
    flavor = {
        "id": "f1",
        "name": "onap.small",
        "vcpus": 2,
        "ram": 2048,
        "disk": 20,
        "OS-FLV-EXT-DATA:ephemeral": 1,
        "swap": "",
        "os-flavor-access:is_public": False,
    }
    shaped = compute.flavor_shape(flavor, {"hw:cpu_policy": "dedicated"})
    assert shaped == {
        "id": "f1",
        "name": "onap.small",
        "vcpu": 2,
        "memory": 2048,
        "disk": 20,
        "ephemeral": 1,
        "swap": 0,
        "isPublic": False,
        "extraSpecs": [{"keyName": "hw:cpu_policy", "value": "dedicated"}],
    }


def test_a_server_shows_its_boot_source_ports_volumes_and_plain_userdata():
    server = {
        "id": "s1",
        "name": "vm",
        "status": "ACTIVE",
        "flavor": {"id": "f1"},
        "image": "",
        "os-extended-volumes:volumes_attached": [{"id": "root"}, {"id": "data"}],
        "OS-EXT-SRV-ATTR:user_data": base64.b64encode(b"#cloud-config\n").decode(),
        "security_groups": [{"name": "default"}, {"name": "default"}],
    }
    shaped = compute.server_shape(server, ["p1"])
    assert shaped["boot"] == {"type": 1, "volumeId": "root"}
    assert shaped["volumeArray"] == [{"volumeId": "data"}]
    assert shaped["nicArray"] == [{"portId": "p1"}]
    assert shaped["userdata"] == "#cloud-config\n"
    assert shaped["securityGroups"] == ["default"]


def test_a_new_server_answers_what_was_asked_until_nova_fills_it_in():
    building = {"nicArray": [], "securityGroups": [], "availabilityZone": "", "status": "BUILD"}
    body = {"nicArray": [{"portId": "p1"}], "securityGroups": ["web"], "availabilityZone": "az1"}
    answer = compute._as_requested(building, body)
    assert answer["nicArray"] == [{"portId": "p1"}] and answer["securityGroups"] == ["web"]
    assert answer["availabilityZone"] == "az1" and answer["status"] == "BUILD"
    placed = {**building, "nicArray": [{"portId": "p9"}], "availabilityZone": "nova"}
    assert compute._as_requested(placed, body)["nicArray"] == [{"portId": "p9"}]
    assert compute._as_requested(placed, body)["availabilityZone"] == "nova"
