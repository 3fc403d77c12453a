"""infra_workload against the sandbox Heat and the A&AI double, in both web frameworks.

One test plays SO's sequence (A&AI contract §6) end to end, on a stack that uses a
nested template with get_file, camelCase template_data keys and directives; the other
covers what goes wrong: a template Heat refuses, a stack in CREATE_FAILED deleted
cleanly, unknown stacks.
"""

from __future__ import annotations

import json
import random
import time
import uuid

import pytest

from multicloud.workload.models import HeatbridgeJob
from tests.integration.aai_helpers import CR, esr_writes_the_region, wait_job
from tests.integration.resources_helpers import add_region
from tests.sandbox import require_heat

pytestmark = [pytest.mark.sandbox, pytest.mark.django_db(transaction=True)]

V1 = "/api/multicloud/v1/osbox/RegionOne"
VIO_V0 = "/api/multicloud-vio/v0/osbox_RegionOne"
HEAT = {"service_type": "orchestration", "interface": "public"}
VNF = "/network/generic-vnfs/generic-vnf/vnf-so-1"
MODULE = f"{VNF}/vf-modules/vf-module/module-so-1"

SERVER_YAML = """
heat_template_version: 2018-08-31
parameters:
  name: {type: string}
  network: {type: string}
  subnet: {type: string}
  flavor: {type: string}
  image: {type: string}
resources:
  port:
    type: OS::Neutron::Port
    properties:
      name: {list_join: ["-", [{get_param: name}, "port"]]}
      network: {get_param: network}
      fixed_ips: [{subnet: {get_param: subnet}}]
  server:
    type: OS::Nova::Server
    properties:
      name: {get_param: name}
      flavor: {get_param: flavor}
      image: {get_param: image}
      networks: [{port: {get_resource: port}}]
      user_data_format: RAW
      user_data: {get_file: boot.sh}
outputs:
  ip: {value: {get_attr: [port, fixed_ips, 0, ip_address]}}
"""

MODULE_YAML = """
heat_template_version: 2018-08-31
parameters:
  vnf_id: {type: string, default: ""}
  vf_module_id: {type: string, default: ""}
  vm_name: {type: string, default: from-the-template}
  flavor_name: {type: string, default: m1.small}
  image_name: {type: string}
  cidr: {type: string, default: 10.250.0.0/24}
resources:
  net:
    type: OS::Neutron::Net
  subnet:
    type: OS::Neutron::Subnet
    properties: {network: {get_resource: net}, cidr: {get_param: cidr}}
  vm:
    type: server.yaml
    properties:
      name: {get_param: vm_name}
      network: {get_resource: net}
      subnet: {get_resource: subnet}
      flavor: {get_param: flavor_name}
      image: {get_param: image_name}
%(volume)s
outputs:
  vm_ip: {value: {get_attr: [vm, ip]}}
  vm_name: {value: {get_param: vm_name}}
"""
VOLUME = """  data:
    type: OS::Cinder::Volume
    properties: {size: 1}
"""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def module_template(sandbox) -> str:
    """The VF module; with a Cinder volume when the sandbox has Cinder."""
    return MODULE_YAML % {"volume": VOLUME if "OSBOX_CINDER_URL" in sandbox.env else ""}


class Stacks:
    """Heat, straight (to check and to clean up what a test left behind)."""

    def __init__(self, session, region: str):
        self.session = session
        self.filter = {**HEAT, "region_name": region}
        self.names: list[str] = []

    def get(self, key: str):
        """The stack; None once Heat has deleted it (by name, Heat may show DELETE_COMPLETE)."""
        reply = self.session.get(f"/stacks/{key}", endpoint_filter=self.filter, raise_exc=False)
        stack = reply.json()["stack"] if reply.status_code == 200 else None
        return None if stack is None or stack["stack_status"] == "DELETE_COMPLETE" else stack

    def cleanup(self) -> None:
        for name in self.names:
            stack = self.get(name)
            if stack is not None:
                path = f"/stacks/{name}/{stack['id']}"
                self.session.delete(path, endpoint_filter=self.filter, raise_exc=False)


@pytest.fixture
def stacks(sandbox, admin_session):
    require_heat(sandbox)
    helper = Stacks(admin_session, sandbox.region)
    yield helper
    helper.cleanup()


def post(api, path: str, body, headers=None):
    return api.request("POST", path, json.dumps(body).encode(), headers=headers)


def poll(api, path: str, headers, done, timeout: float = 180.0):
    """GET ``path`` until ``done(answer)``; the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = api.request("GET", path, headers=headers)
        if done(answer):
            return answer
        if time.monotonic() > deadline:
            pytest.fail(f"{path}: not there after {timeout}s: {answer.status} {answer.body[:600]}")
        time.sleep(1)


def status_of(answer) -> str:
    return answer.json().get("workload_status", "") if answer.status == 200 else ""


def so_request(sandbox, name: str) -> dict:
    """SO's create body (MulticloudRequest), template_data in the camelCase SO likely sends."""
    subnet = f"10.{random.randint(100, 250)}.{random.randint(0, 250)}"
    return {
        "generic-vnf-id": "vnf-so-1",
        "vf-module-id": "module-so-1",
        "vf-module-model-invariant-id": "inv-1",
        "vf-module-model-version-id": "ver-1",
        "vf-module-model-customization-id": "cust-1",
        "oof_directives": {
            "directives": [
                {
                    "id": "vm_0",
                    "type": "vnfc",
                    "directives": [
                        {
                            "type": "flavor_directives",
                            "attributes": [
                                {"attribute_name": "flavor_name", "attribute_value": "m1.tiny"}
                            ],
                        }
                    ],
                }
            ]
        },
        "sdnc_directives": {
            "attributes": [
                {"attribute_name": "vm_name", "attribute_value": "named-by-sdnc"},
                {"attribute_name": "cidr", "attribute_value": f"{subnet}.0/24"},
                {"attribute_name": "not_in_the_template", "attribute_value": "dropped"},
            ]
        },
        "user_directives": {
            "attributes": [{"attribute_name": "vm_name", "attribute_value": f"{name}-vm"}]
        },
        "template_type": "HEAT",
        "template_data": {
            "stackName": name,
            "template": module_template(sandbox),
            "parameters": {
                "vnf_id": "vnf-so-1",
                "vf_module_id": "module-so-1",
                "image_name": "fake-image",
                "flavor_name": "m1.small",
            },
            "timeoutMinutes": 10,
            "disableRollback": True,
            "environment": "parameters: {}\n",
            "files": {"server.yaml": SERVER_YAML, "boot.sh": "#!/bin/sh\necho booted\n"},
        },
    }


def so_wrote_the_vnf(aai) -> None:
    """What SO writes into A&AI before it asks Multicloud for the VF module."""
    aai.seed(VNF, {"vnf-id": "vnf-so-1", "vnf-name": "so-vnf", "vnf-type": "vfw"})
    aai.seed(MODULE, {"vf-module-id": "module-so-1", "vf-module-name": "vfw_module_1"})


def vservers(aai, project_id: str) -> dict[str, dict]:
    tenant = aai.get(f"{CR}/tenants/tenant/{project_id}", depth=10) or {}
    return {v["vserver-id"]: v for v in (tenant.get("vservers") or {}).get("vserver", [])}


def related(vserver: dict) -> dict[str, str]:
    edges = (vserver.get("relationship-list") or {}).get("relationship", [])
    return {e["related-to"]: e["related-link"] for e in edges}


def test_so_sequence_create_heatbridge_delete(
    api, use_aai, fake_aai, sandbox, stacks, admin_session
):
    """SO: lookup → create → poll → heatbridge → poll → (A&AI holds it) → delete → 404."""
    use_aai(fake_aai)
    esr_writes_the_region(fake_aai, sandbox)
    so_wrote_the_vnf(fake_aai)
    assert post(api, f"{V1}/registry", {}).status == 202
    assert wait_job(api, V1)["registry"]["status"] == "done"
    project_id = admin_session.get_project_id()
    so = {"Project": project_id}
    name = unique("vfw-module")
    stacks.names.append(name)

    found = api.request("GET", f"{V1}/infra_workload?name={name}", headers=so)
    assert found.status == 200, found.body
    assert found.json() == {
        "template_type": "HEAT",
        "workload_id": "",
        "workload_status": "GET_COMPLETE",
        "workload_status_reason": {"stacks": []},
    }

    created = post(api, f"{V1}/infra_workload", so_request(sandbox, name), headers=so)
    assert created.status == 201, created.body
    workload = created.json()
    stack_id = workload["workload_id"]
    assert workload["template_type"] == "HEAT"
    assert workload["workload_status"] == "CREATE_IN_PROGRESS"
    assert workload["workload_status_reason"]["id"] == stack_id
    link = workload["workload_status_reason"]["links"][0]["href"]
    assert link.endswith(f"{V1}/heat/v1/{project_id}/stacks/{name}/{stack_id}")

    item = f"{V1}/infra_workload/{stack_id}"
    done = poll(api, item, so, lambda a: not status_of(a).endswith("IN_PROGRESS"))
    assert status_of(done) == "CREATE_COMPLETE", done.body
    stack = done.json()["workload_status_reason"]["stack"]
    assert stack["stack_status"] == "CREATE_COMPLETE" and stack["id"] == stack_id
    parameters = stack["parameters"]
    assert parameters["vm_name"] == f"{name}-vm"  # the user's directive wins over sdnc's
    assert parameters["flavor_name"] == "m1.tiny"  # oof's flavor directive
    assert parameters["cidr"].startswith("10.")  # sdnc's
    assert "not_in_the_template" not in parameters
    outputs = {o["output_key"]: o["output_value"] for o in stack["outputs"]}
    assert outputs["vm_name"] == f"{name}-vm"
    assert outputs["vm_ip"].startswith(parameters["cidr"].rsplit(".", 1)[0])
    by_name = api.request("GET", f"{VIO_V0}/infra_workload/{name}", headers=so)
    assert by_name.json()["workload_id"] == stack_id
    listed = api.request("GET", f"{V1}/infra_workload?name={name}", headers=so).json()
    assert [s["id"] for s in listed["workload_status_reason"]["stacks"]] == [stack_id]

    body = {"generic-vnf-id": "vnf-so-1", "vf-module-id": "module-so-1"}
    bridged = post(api, item, body, headers=so)
    assert bridged.status == 202, bridged.body
    assert bridged.json()["workload_status"] == "UPDATE_IN_PROGRESS"
    done = poll(api, item, so, lambda a: status_of(a) != "UPDATE_IN_PROGRESS")
    assert status_of(done) == "UPDATE_COMPLETE", done.body
    reason = done.json()["workload_status_reason"]
    assert reason["stack"]["outputs"] and reason["heatbridge"]["skipped"] == []

    held = vservers(fake_aai, project_id)
    assert len(held) == 1
    ((server_id, vserver),) = held.items()
    assert vserver["vserver-name"] == f"{name}-vm" and vserver["prov-status"] == "ACTIVE"
    edges = related(vserver)
    assert set(edges) == {"pserver", "flavor", "image", "generic-vnf", "vf-module"}
    assert edges["vf-module"] == f"/aai/v13{MODULE}" and edges["generic-vnf"] == f"/aai/v13{VNF}"
    tiny = next(f for f in fake_aai.paths("flavor") if fake_aai.get(f)["flavor-name"] == "m1.tiny")
    assert edges["flavor"] == f"/aai/v13{tiny}"
    assert edges["pserver"].startswith("/aai/v13/cloud-infrastructure/pservers/pserver/osbox_")
    (interface,) = vserver["l-interfaces"]["l-interface"]
    assert interface["interface-name"] == f"{name}-vm-port"
    assert interface["network-name"] and len(interface["macaddr"]) == 17
    assert interface["is-port-mirrored"] is False
    (address,) = interface["l3-interface-ipv4-address-list"]
    assert address["l3-interface-ipv4-address"] == outputs["vm_ip"]
    assert address["l3-interface-ipv4-prefix-length"] == 24

    # A rerun updates what is there; a run whose worker went away is resumed by a read.
    assert post(api, item, body, headers=so).status == 202
    poll(api, item, so, lambda a: status_of(a) == "UPDATE_COMPLETE")
    HeatbridgeJob.objects.update(status="running", generation=99, lease_until=None)
    resumed = poll(api, item, so, lambda a: status_of(a) != "UPDATE_IN_PROGRESS")
    assert status_of(resumed) == "UPDATE_COMPLETE"
    again = vservers(fake_aai, project_id)
    assert list(again) == [server_id] and related(again[server_id]) == edges
    assert len(again[server_id]["l-interfaces"]["l-interface"]) == 1

    gone = api.request("DELETE", item, headers=so)
    assert gone.status == 204 and gone.body == b""
    assert vservers(fake_aai, project_id) == {}  # before Heat has deleted anything
    deleting = api.request("GET", item, headers=so)
    if deleting.status == 200:  # NOTE: unless Heat was done already
        assert status_of(deleting) == "DELETE_IN_PROGRESS", deleting.body
        assert deleting.json()["workload_status_reason"]["stack"]["id"] == stack_id
    last = poll(api, item, so, lambda a: a.status != 200 or status_of(a) != "DELETE_IN_PROGRESS")
    assert last.status == 404, last.body
    assert last.json()["workload_status"] == "GET_FAILED"
    assert not HeatbridgeJob.objects.exists()


def test_what_heat_refuses_or_fails(api, sandbox, stacks):
    """A template Heat rejects is 400; a CREATE_FAILED stack is deleted cleanly; unknown is 404."""
    add_region(sandbox)
    broken = {
        "template_type": "heat",
        "template_data": {
            "stack_name": unique("broken"),
            "template": "heat_template_version: 2018-08-31\nresources: {x: {type: OS::No::Such}}",
        },
    }
    refused = post(api, f"{V1}/infra_workload", broken)
    assert refused.status == 400, refused.body
    assert refused.json()["workload_status"] == "CREATE_FAILED"
    assert "OS::No::Such" in refused.json()["workload_status_reason"]

    name = unique("failing")
    stacks.names.append(name)
    failing = {
        "template_type": "",
        "template_data": {
            "stack_name": name,
            "disable_rollback": True,
            "template": {
                "heat_template_version": "2018-08-31",
                "resources": {
                    "net": {"type": "OS::Neutron::Net"},
                    "boom": {
                        "type": "OS::Heat::TestResource",
                        "depends_on": "net",
                        "properties": {"fail": True},
                    },
                },
            },
        },
    }
    created = post(api, f"{VIO_V0}/infra_workload", failing)
    assert created.status == 201, created.body
    item = f"{VIO_V0}/infra_workload/{created.json()['workload_id']}"
    failed = poll(api, item, None, lambda a: not status_of(a).endswith("IN_PROGRESS"))
    assert status_of(failed) == "CREATE_FAILED"
    assert failed.json()["workload_status_reason"]["stack"]["stack_status_reason"]
    assert api.request("DELETE", item).status == 204
    last = poll(api, item, None, lambda a: a.status != 200)
    assert last.status == 404, last.body
    assert stacks.get(name) is None

    unknown = api.request("GET", f"{V1}/infra_workload/{uuid.uuid4()}")
    assert unknown.status == 404 and unknown.json()["workload_status"] == "GET_FAILED"
    assert api.request("DELETE", f"{V1}/infra_workload/no-such-stack").status == 404
