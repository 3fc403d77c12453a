"""Every typed route under each of the four region prefixes, and the paging of every list.

The resources are made once per module straight in the sandbox (two of each kind, so
lists can be paged) and shared by the django and pecan runs; the API only reads them,
re-POSTs them (200, ``returnCode: 0``) and makes and deletes networks of its own.
"""

from __future__ import annotations

import uuid

import pytest

from tests.integration.resources_helpers import DECORATION, PREFIXES, post, unique
from tests.integration.volumes import VolumeHelper
from tests.sandbox import ServerHelper, require_cinder

pytestmark = [pytest.mark.sandbox, pytest.mark.django_db(transaction=True)]

NETWORK = {"service_type": "network", "interface": "public"}


@pytest.fixture(scope="module")
def stock(sandbox, admin_session):
    """Two subnets, ports, volumes and servers (and their network), named ``mc-pfx-*``."""
    require_cinder(sandbox)
    tag = uuid.uuid4().hex[:6]
    servers = ServerHelper(admin_session, sandbox.region)
    volumes = VolumeHelper(admin_session, sandbox.region)
    made: list[str] = []

    def neutron(kind: str, body: dict) -> dict:
        path = f"/v2.0/{kind}s"
        found = admin_session.post(path, json={kind: body}, endpoint_filter=NETWORK).json()[kind]
        made.append(f"{path}/{found['id']}")
        return found

    try:
        net = neutron("network", {"name": f"mc-pfx-{tag}-net"})
        found = {"networks": [net]}
        found["subnets"] = [
            neutron(
                "subnet",
                {
                    "name": f"mc-pfx-{tag}-sub{i}",
                    "network_id": net["id"],
                    "ip_version": 4,
                    "cidr": f"10.9{i}.0.0/24",
                },
            )
            for i in range(2)
        ]
        found["ports"] = [
            neutron("port", {"name": f"mc-pfx-{tag}-port{i}", "network_id": net["id"]})
            for i in range(2)
        ]
        # NOTE: Nova's create answer has the id but not the name.
        names = [f"mc-pfx-{tag}-vm{i}" for i in range(2)]
        found["servers"] = [
            {**servers.boot(name=name, wait_status=None), "name": name} for name in names
        ]
        found["volumes"] = [volumes.create(name=f"mc-pfx-{tag}-vol{i}") for i in range(2)]
        yield found
    finally:
        servers.cleanup()
        volumes.cleanup()
        for path in reversed(made):
            admin_session.delete(path, endpoint_filter=NETWORK, raise_exc=False)


def request_of(kind: str, item: dict) -> dict:
    """A POST body naming an existing ``item`` (so the API answers 200, ``returnCode: 0``)."""
    if kind == "servers":
        return {"name": item["name"], "flavorId": "m1.tiny", "boot": {"type": 2, "imageId": "x"}}
    if kind == "volumes":
        return {"name": item["name"], "volumeSize": 1}
    if kind == "subnets":
        return {"name": item["name"], "networkId": "n", "cidr": "10.0.0.0/24", "ipVersion": 4}
    if kind == "ports":
        return {"name": item["name"], "networkId": item["network_id"]}
    return {"name": item["name"]}


def test_every_typed_route_answers_under_every_prefix(api, sandbox, typed, cloud, stock):
    hypervisor = cloud.get("compute", "/os-hypervisors").json()["hypervisors"][0]
    flavor = {"name": "m1.tiny", "vcpu": 1, "memory": 64}
    for prefix in PREFIXES:
        base = f"{prefix}/{sandbox.admin.project_name}"
        for kind, items in [*stock.items(), ("flavors", [{"name": "m1.tiny"}])]:
            item = items[0]
            where = f"{base}/{kind}"
            listed = api.request("GET", f"{where}?name={item['name']}")
            assert listed.status == 200, (where, listed.body)
            assert [i["name"] for i in listed.json()[kind]] == [item["name"]]
            assert {**listed.json(), **DECORATION} == listed.json()
            one = api.request("GET", f"{where}/{item.get('id', item['name'])}")
            assert one.status == 200 and one.json()["name"] == item["name"], (where, one.body)
            body = flavor if kind == "flavors" else request_of(kind, item)
            again = post(api, where, body)
            assert again.status == 200, (where, again.body)
            assert again.json()["returnCode"] == 0 and again.json()["id"] == one.json()["id"]
            gone = api.request("DELETE", f"{where}/mc-no-such")
            assert gone.status == 404 and "mc-no-such" in gone.json()["error"], (where, gone.body)
        action = api.request("POST", f"{base}/servers/mc-no-such/action", b'{"os-stop": null}')
        assert action.status == 404 and "mc-no-such" in action.json()["error"]
        for path in ("hosts", f"hosts/{hypervisor['hypervisor_hostname']}", "limits"):
            answer = api.request("GET", f"{base}/{path}")
            assert answer.status == 200, (prefix, path, answer.body)
            assert {**answer.json(), **DECORATION} == answer.json()
        assert api.request("GET", f"{prefix}/extensions").json()["extensions"] == []
        made = post(api, f"{base}/networks", {"name": unique("pfx")})
        assert made.status == 201 and made.headers["location"].startswith(f"{base}/networks/")
        cloud.track("network", f"/v2.0/networks/{made.json()['id']}")
        assert api.request("DELETE", made.headers["location"]).status == 204


@pytest.mark.parametrize("kind", ["servers", "networks", "subnets", "ports", "volumes"])
def test_every_list_pages_with_limit_and_marker(api, typed, stock, kind):
    mine = {item["id"] for item in stock[kind]}
    everything = api.request("GET", f"{typed}/{kind}?limit=1000").json()[kind]
    assert mine <= {item["id"] for item in everything}
    first = api.request("GET", f"{typed}/{kind}?limit=1")
    assert first.status == 200 and len(first.json()[kind]) == 1
    marker = first.json()[kind][0]["id"]
    rest = api.request("GET", f"{typed}/{kind}?limit=1000&marker={marker}").json()[kind]
    # NOTE: the sandbox is shared, so others' resources may come and go meanwhile; ours
    # existed before the first page, so they all follow its one item.
    after = {item["id"] for item in rest}
    assert marker not in after and mine - {marker} <= after


@pytest.mark.parametrize("kind", ["flavors", "servers", "networks", "subnets", "ports", "volumes"])
def test_an_unknown_marker_is_400_naming_it(api, typed, stock, kind):
    answer = api.request("GET", f"{typed}/{kind}?marker=mc-no-such")
    assert answer.status == 400, answer.body
    assert answer.json()["field"] == "marker"
