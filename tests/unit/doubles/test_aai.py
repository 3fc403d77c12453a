"""Pin the A&AI double to A&AI's REST rules, over real HTTP with ``requests``."""

from __future__ import annotations

import time

import pytest
import requests

from tests.doubles.aai import FakeAai

pytestmark = pytest.mark.timeout(30)

CR = "/cloud-infrastructure/cloud-regions/cloud-region/Owner/R1"
HEADERS = {"X-FromAppId": "test", "X-TransactionId": "t-1"}


@pytest.fixture
def aai():
    with FakeAai(version=13) as double:
        yield double


def call(
    aai: FakeAai, method: str, path: str, body=None, headers=None, auth=("AAI", "AAI"), **params
):
    return requests.request(
        method,
        aai.base + path,
        json=body,
        params=params,
        headers=HEADERS if headers is None else headers,
        auth=auth,
        timeout=5,
    )


def region(aai: FakeAai, **extra) -> None:
    body = {"cloud-owner": "Owner", "cloud-region-id": "R1", "cloud-type": "openstack", **extra}
    assert call(aai, "PUT", CR, body).status_code == 201


def version(aai: FakeAai, path: str) -> str:
    return call(aai, "GET", path).json()["resource-version"]


def service_exception(answer: requests.Response) -> dict:
    return answer.json()["requestError"]["serviceException"]


def test_both_headers_are_required(aai):
    missing_app = call(aai, "GET", CR, headers={"X-TransactionId": "1"})
    assert missing_app.status_code == 400
    assert service_exception(missing_app)["variables"][-1] == "ERR.4.0.4009"
    missing_tx = call(aai, "GET", CR, headers={"X-FromAppId": "x"})
    assert missing_tx.status_code == 400
    assert service_exception(missing_tx)["variables"][-1] == "ERR.4.0.4010"


def test_basic_credentials_are_required(aai):
    assert call(aai, "GET", CR, auth=None).status_code == 401
    assert call(aai, "GET", CR, auth=("AAI", "wrong")).status_code == 401


def test_a_missing_node_is_404_with_the_request_error_envelope(aai):
    answer = call(aai, "GET", CR)
    assert answer.status_code == 404
    error = service_exception(answer)
    assert error["messageId"] == "SVC3001"
    assert error["text"] == "Resource not found for %1 using id %2 (msg=%3) (ec=%4)"
    assert error["variables"][0] == "GET"
    assert error["variables"][1] == CR.lstrip("/")
    assert error["variables"][2].startswith("Node Not Found:No Node of type cloud-region")
    assert error["variables"][3] == "ERR.5.4.6114"


def test_create_is_201_update_is_200_and_bumps_the_version(aai):
    region(aai)
    first = version(aai, CR)
    body = {"cloud-owner": "Owner", "cloud-region-id": "R1", "resource-version": first}
    assert call(aai, "PUT", CR, body).status_code == 200
    assert version(aai, CR) != first


def test_the_412_family(aai):
    region(aai)
    no_version = call(aai, "PUT", CR, {"cloud-type": "openstack"})
    assert no_version.status_code == 412
    assert service_exception(no_version)["variables"][-1] == "ERR.5.4.6130"
    assert "resource-version not passed for update" in service_exception(no_version)["variables"][2]
    stale = call(aai, "PUT", CR, {"resource-version": "1"})
    assert stale.status_code == 412
    assert service_exception(stale)["variables"][-1] == "ERR.5.4.6131"
    on_create = call(aai, "PUT", CR.replace("R1", "R2"), {"resource-version": "5"})
    assert on_create.status_code == 412
    assert service_exception(on_create)["variables"][-1] == "ERR.5.4.6135"
    no_delete_version = call(aai, "DELETE", CR)
    assert no_delete_version.status_code == 412
    assert service_exception(no_delete_version)["variables"][-1] == "ERR.5.4.6130"
    assert call(aai, "DELETE", CR, **{"resource-version": "1"}).status_code == 412


def test_nested_children_are_checked_against_their_own_versions(aai):
    tenant = {"tenant-id": "t1", "tenant-name": "one"}
    body = {"cloud-owner": "Owner", "cloud-region-id": "R1", "tenants": {"tenant": [tenant]}}
    assert call(aai, "PUT", CR, body).status_code == 201
    again = {**body, "resource-version": version(aai, CR)}
    answer = call(aai, "PUT", CR, again)  # the tenant exists: it needs its version too
    assert answer.status_code == 412
    tenant_version = version(aai, CR + "/tenants/tenant/t1")
    again["tenants"] = {"tenant": [{**tenant, "resource-version": tenant_version}]}
    assert call(aai, "PUT", CR, again).status_code == 200


def test_required_fields_defaults_unknown_fields_and_key_mismatch(aai):
    region(aai, **{"no-such-field": "dropped", "cloud-epa-caps": "kept-on-v13"})
    held = call(aai, "GET", CR).json()
    assert "no-such-field" not in held and held["cloud-epa-caps"] == "kept-on-v13"
    missing = call(aai, "PUT", CR + "/flavors/flavor/f1", {"flavor-id": "f1"})
    assert missing.status_code == 400
    assert "flavor-name" in service_exception(missing)["variables"][2]
    assert "flavor-selflink" in service_exception(missing)["variables"][2]
    mismatch = call(aai, "PUT", CR + "/tenants/tenant/t1", {"tenant-id": "t2", "tenant-name": "x"})
    assert mismatch.status_code == 400
    assert "uri and payload keys don't match" in service_exception(mismatch)["variables"][2]
    pserver = call(aai, "PUT", "/cloud-infrastructure/pservers/pserver/h1", {})
    assert pserver.status_code == 201
    assert call(aai, "GET", "/cloud-infrastructure/pservers/pserver/h1").json()["in-maint"] is False


def test_a_modern_version_requires_in_maint_defaults_and_drops_epa_caps():
    with FakeAai(version=19) as aai:
        region(aai, **{"cloud-epa-caps": "gone"})
        held = call(aai, "GET", CR).json()
        assert "cloud-epa-caps" not in held
        assert held["in-maint"] is False and held["orchestration-disabled"] is False
        esr = {"esr-system-info-id": "e", "user-name": "u", "password": "p", "system-type": "VIM"}
        esr["openstack-region-id"] = "RegionOne"
        call(aai, "PUT", CR + "/esr-system-info-list/esr-system-info/e", esr)
        assert (
            call(aai, "GET", CR + "/esr-system-info-list/esr-system-info/e").json()[
                "openstack-region-id"
            ]
            == "RegionOne"
        )
        other = requests.get(
            f"{aai.url}/aai/v13{CR}", headers=HEADERS, auth=("AAI", "AAI"), timeout=5
        )
        assert other.status_code == 404  # only the version it serves


def test_depth_nodes_only_and_maximum_depth(aai):
    region(aai)
    call(aai, "PUT", CR + "/tenants/tenant/t1", {"tenant-id": "t1", "tenant-name": "one"})
    assert "tenants" not in call(aai, "GET", CR).json()
    deep = call(aai, "GET", CR, depth="1").json()
    assert deep["tenants"]["tenant"][0]["tenant-id"] == "t1"
    assert "tenants" in call(aai, "GET", CR, depth="all").json()
    bad = call(aai, "GET", CR, depth="deep")
    assert bad.status_code == 400 and service_exception(bad)["variables"][-1] == "ERR.4.0.4016"
    too_deep = call(aai, "GET", "/cloud-infrastructure/cloud-regions", depth="1")
    assert too_deep.status_code == 403
    assert service_exception(too_deep)["messageId"] == "POL3300"
    call(aai, "PUT", "/cloud-infrastructure/pservers/pserver/h1", {})
    rel = {"related-to": "cloud-region", "related-link": f"/aai/v13{CR}"}
    call(
        aai, "PUT", "/cloud-infrastructure/pservers/pserver/h1/relationship-list/relationship", rel
    )
    assert (
        "relationship-list" in call(aai, "GET", "/cloud-infrastructure/pservers/pserver/h1").json()
    )
    bare = call(aai, "GET", "/cloud-infrastructure/pservers/pserver/h1", **{"nodes-only": ""})
    assert "relationship-list" not in bare.json()


def test_plurals_filter_and_an_empty_plural_is_404(aai):
    region(aai)
    assert call(aai, "GET", CR + "/tenants").status_code == 404
    call(aai, "PUT", CR + "/tenants/tenant/t1", {"tenant-id": "t1", "tenant-name": "one"})
    call(aai, "PUT", CR + "/tenants/tenant/t2", {"tenant-id": "t2", "tenant-name": "two"})
    listed = call(aai, "GET", CR + "/tenants").json()["tenant"]
    assert [t["tenant-id"] for t in listed] == ["t1", "t2"]
    named = call(aai, "GET", CR + "/tenants", **{"tenant-name": "two"}).json()["tenant"]
    assert [t["tenant-id"] for t in named] == ["t2"]
    regions = call(aai, "GET", "/cloud-infrastructure/cloud-regions", **{"cloud-type": "openstack"})
    assert regions.json()["cloud-region"][0]["cloud-region-id"] == "R1"


def test_edges_link_label_idempotence_and_version_bumps(aai):
    region(aai)
    host = "/cloud-infrastructure/pservers/pserver/h1"
    call(aai, "PUT", host, {})
    before = (version(aai, host), version(aai, CR))
    rel = {"related-to": "cloud-region", "related-link": f"/aai/v13{CR}"}
    assert call(aai, "PUT", host + "/relationship-list/relationship", rel).status_code == 200
    after = (version(aai, host), version(aai, CR))
    assert after[0] != before[0] and after[1] != before[1]
    assert call(aai, "PUT", host + "/relationship-list/relationship", rel).status_code == 200
    assert (version(aai, host), version(aai, CR)) == after  # an existing edge is a no-op
    (edge,) = call(aai, "GET", CR).json()["relationship-list"]["relationship"]
    assert edge["related-to"] == "pserver"
    assert edge["related-link"] == f"/aai/v13{host}"
    assert edge["relationship-label"] == "org.onap.relationships.inventory.LocatedIn"
    assert edge["relationship-data"] == [
        {"relationship-key": "pserver.hostname", "relationship-value": "h1"}
    ]
    answer = call(aai, "DELETE", host + "/relationship-list/relationship", rel)
    assert answer.status_code == 204
    assert "relationship-list" not in call(aai, "GET", CR).json()


def test_edge_errors(aai):
    region(aai)
    host = "/cloud-infrastructure/pservers/pserver/h1"
    call(aai, "PUT", host, {})
    missing = {"related-to": "cloud-region", "related-link": "/aai/v13" + CR.replace("R1", "R9")}
    answer = call(aai, "PUT", host + "/relationship-list/relationship", missing)
    assert (
        answer.status_code == 404 and service_exception(answer)["variables"][-1] == "ERR.5.4.6129"
    )
    call(aai, "PUT", CR + "/tenants/tenant/t1", {"tenant-id": "t1", "tenant-name": "one"})
    child = {"related-to": "tenant", "related-link": f"/aai/v13{CR}/tenants/tenant/t1"}
    answer = call(aai, "PUT", CR + "/relationship-list/relationship", child)
    assert (
        answer.status_code == 400 and service_exception(answer)["variables"][-1] == "ERR.5.4.6145"
    )
    answer = call(
        aai,
        "PUT",
        CR + "/tenants/tenant/t1/relationship-list/relationship",
        {"related-to": "pserver", "related-link": f"/aai/v13{host}"},
    )
    assert (
        answer.status_code == 400 and service_exception(answer)["variables"][-1] == "ERR.5.4.6120"
    )
    call(aai, "PUT", CR.replace("R1", "R2"), {"cloud-owner": "Owner", "cloud-region-id": "R2"})
    first = {"related-to": "cloud-region", "related-link": f"/aai/v13{CR}"}
    second = {"related-to": "cloud-region", "related-link": "/aai/v13" + CR.replace("R1", "R2")}
    call(aai, "PUT", host + "/relationship-list/relationship", first)
    answer = call(aai, "PUT", host + "/relationship-list/relationship", second)
    assert (
        answer.status_code == 400 and service_exception(answer)["variables"][-1] == "ERR.5.4.6140"
    )


def test_relationship_data_is_accepted_instead_of_a_link(aai):
    region(aai)
    host = "/cloud-infrastructure/pservers/pserver/h1"
    call(aai, "PUT", host, {})
    rel = {
        "related-to": "cloud-region",
        "relationship-data": [
            {"relationship-key": "cloud-region.cloud-owner", "relationship-value": "Owner"},
            {"relationship-key": "cloud-region.cloud-region-id", "relationship-value": "R1"},
        ],
    }
    assert call(aai, "PUT", host + "/relationship-list/relationship", rel).status_code == 200
    assert aai.get(CR)["relationship-list"]["relationship"][0]["related-to"] == "pserver"


def test_a_put_with_a_relationship_list_replaces_the_edges(aai):
    region(aai)
    call(
        aai,
        "PUT",
        CR + "/availability-zones/availability-zone/az1",
        {"availability-zone-name": "az1", "hypervisor-type": "QEMU"},
    )
    host = "/cloud-infrastructure/pservers/pserver/h1"
    to_region = {"related-to": "cloud-region", "related-link": f"/aai/v13{CR}"}
    to_zone = {
        "related-to": "availability-zone",
        "related-link": f"/aai/v13{CR}/availability-zones/availability-zone/az1",
    }
    call(aai, "PUT", host, {"relationship-list": {"relationship": [to_region, to_zone]}})
    assert len(aai.get(host)["relationship-list"]["relationship"]) == 2
    body = {
        "resource-version": version(aai, host),
        "relationship-list": {"relationship": [to_zone]},
    }
    assert call(aai, "PUT", host, body).status_code == 200
    (left,) = aai.get(host)["relationship-list"]["relationship"]
    assert left["related-to"] == "availability-zone"
    body = {"resource-version": version(aai, host)}  # no list: edges are left alone
    call(aai, "PUT", host, body)
    assert len(aai.get(host)["relationship-list"]["relationship"]) == 1


def test_an_implied_delete_is_refused_unless_whitelisted(aai):
    region(aai)
    flavor = CR + "/flavors/flavor/f1"
    cap = {"hpa-capability-id": "c1", "hpa-feature": "basicCapabilities"}
    body = {
        "flavor-id": "f1",
        "flavor-name": "f",
        "flavor-selflink": "x",
        "hpa-capabilities": {"hpa-capability": [cap]},
    }
    call(aai, "PUT", flavor, body)
    emptied = {
        **body,
        "resource-version": version(aai, flavor),
        "hpa-capabilities": {"hpa-capability": []},
    }
    answer = call(aai, "PUT", flavor, emptied)
    assert answer.status_code == 403
    assert service_exception(answer)["variables"][-1] == "ERR.5.0.9109"
    with FakeAai(implied_delete_whitelist=("test",)) as lenient:
        region(lenient)
        call(lenient, "PUT", flavor, body)
        emptied["resource-version"] = version(lenient, flavor)
        assert call(lenient, "PUT", flavor, emptied).status_code == 200
        assert not lenient.exists(flavor + "/hpa-capabilities/hpa-capability/c1")


def test_wrapperless_feature_attributes(aai):
    region(aai)
    flavor = CR + "/flavors/flavor/f1"
    call(aai, "PUT", flavor, {"flavor-id": "f1", "flavor-name": "f", "flavor-selflink": "x"})
    cap = flavor + "/hpa-capabilities/hpa-capability/c1"
    call(aai, "PUT", cap, {"hpa-capability-id": "c1", "hpa-feature": "numa"})
    attribute = {"hpa-attribute-key": "numaNodes", "hpa-attribute-value": '{"value": "2"}'}
    assert call(aai, "PUT", cap + "/hpa-feature-attributes/numaNodes", attribute).status_code == 201
    shown = call(aai, "GET", cap, depth="1").json()
    assert shown["hpa-feature-attributes"][0]["hpa-attribute-key"] == "numaNodes"
    listed = call(aai, "GET", cap + "/hpa-feature-attributes").json()
    assert listed["hpa-feature-attributes"][0]["hpa-attribute-value"] == '{"value": "2"}'


def test_delete_rules(aai):
    region(aai)
    flavor = CR + "/flavors/flavor/f1"
    call(aai, "PUT", flavor, {"flavor-id": "f1", "flavor-name": "f", "flavor-selflink": "x"})
    cap = flavor + "/hpa-capabilities/hpa-capability/c1"
    call(aai, "PUT", cap, {"hpa-capability-id": "c1", "hpa-feature": "numa"})
    call(aai, "PUT", cap + "/hpa-feature-attributes/k", {"hpa-attribute-key": "k"})
    blocked = call(aai, "DELETE", CR, **{"resource-version": version(aai, CR)})
    assert blocked.status_code == 400
    error = service_exception(blocked)
    assert error["messageId"] == "SVC3100" and error["variables"][-1] == "ERR.5.4.6110"
    assert "flavor" in error["variables"][-2]
    answer = call(aai, "DELETE", flavor, **{"resource-version": version(aai, flavor)})
    assert answer.status_code == 400  # a flavor with capabilities
    assert call(aai, "DELETE", cap, **{"resource-version": version(aai, cap)}).status_code == 204
    assert not aai.exists(cap + "/hpa-feature-attributes/k")  # gone with its capability
    assert (
        call(aai, "DELETE", flavor, **{"resource-version": version(aai, flavor)}).status_code == 204
    )
    zone = CR + "/availability-zones/availability-zone/az1"
    call(aai, "PUT", zone, {"availability-zone-name": "az1", "hypervisor-type": "QEMU"})
    host = "/cloud-infrastructure/pservers/pserver/h1"
    call(aai, "PUT", host, {})
    rel = {"related-to": "availability-zone", "related-link": f"/aai/v13{zone}"}
    call(aai, "PUT", host + "/relationship-list/relationship", rel)
    answer = call(aai, "DELETE", zone, **{"resource-version": version(aai, zone)})
    assert answer.status_code == 400  # an AZ with member pservers
    zone_before = version(aai, zone)
    assert call(aai, "DELETE", host, **{"resource-version": version(aai, host)}).status_code == 204
    assert version(aai, zone) != zone_before  # a deleted node's cousins are bumped
    call(
        aai,
        "PUT",
        CR + "/esr-system-info-list/esr-system-info/e",
        {"esr-system-info-id": "e", "user-name": "u", "password": "p", "system-type": "VIM"},
    )
    assert call(aai, "DELETE", CR, **{"resource-version": version(aai, CR)}).status_code == 204
    assert not aai.exists(zone) and not aai.exists(CR + "/esr-system-info-list/esr-system-info/e")


def test_a_tenant_with_vservers_cannot_be_deleted(aai):
    region(aai)
    tenant = CR + "/tenants/tenant/t1"
    call(aai, "PUT", tenant, {"tenant-id": "t1", "tenant-name": "one"})
    call(
        aai,
        "PUT",
        tenant + "/vservers/vserver/v1",
        {"vserver-id": "v1", "vserver-name": "vm", "vserver-selflink": "x"},
    )
    answer = call(aai, "DELETE", tenant, **{"resource-version": version(aai, tenant)})
    assert answer.status_code == 400 and "vserver" in service_exception(answer)["variables"][-2]


VNF = "/network/generic-vnfs/generic-vnf/vnf-1"
VSERVER = CR + "/tenants/tenant/t1/vservers/vserver/v1"
PORT = VSERVER + "/l-interfaces/l-interface/port-a"


def a_vserver(aai: FakeAai, server: str = VSERVER) -> None:
    tenant = CR + "/tenants/tenant/t1"
    if not aai.exists(tenant):
        call(aai, "PUT", tenant, {"tenant-id": "t1", "tenant-name": "one"})
    body = {"vserver-id": server.rsplit("/", 1)[1], "vserver-name": "vm", "vserver-selflink": "x"}
    assert call(aai, "PUT", server, body).status_code == 201


def relate(aai: FakeAai, path: str, related_to: str, target: str) -> requests.Response:
    rel = {"related-to": related_to, "related-link": f"/aai/v{aai.version}{target}"}
    return call(aai, "PUT", path + "/relationship-list/relationship", rel)


def test_a_vf_module_lives_under_its_generic_vnf_and_uses_one_vserver_at_most(aai):
    region(aai)
    a_vserver(aai)
    assert call(aai, "PUT", VNF, {"vnf-id": "vnf-1", "vnf-name": "v", "vnf-type": "t"}).ok
    module = VNF + "/vf-modules/vf-module/m1"
    assert call(aai, "PUT", module, {"vf-module-id": "m1"}).status_code == 201
    assert call(aai, "GET", module).json()["is-base-vf-module"] is False
    assert "vf-modules" in call(aai, "GET", VNF, depth="1").json()
    assert relate(aai, VSERVER, "vf-module", module).status_code == 200
    assert relate(aai, VSERVER, "generic-vnf", VNF).status_code == 200
    edges = call(aai, "GET", VSERVER).json()["relationship-list"]["relationship"]
    labels = {e["related-to"]: e["relationship-label"] for e in edges}
    assert labels == {
        "vf-module": "org.onap.relationships.inventory.Uses",
        "generic-vnf": "tosca.relationships.HostedOn",
    }
    call(aai, "PUT", VNF + "/vf-modules/vf-module/m2", {"vf-module-id": "m2"})
    second = relate(aai, VSERVER, "vf-module", VNF + "/vf-modules/vf-module/m2")
    assert second.status_code == 400  # a vserver is used by one vf-module (ONE2MANY)
    assert service_exception(second)["variables"][-1] == "ERR.5.4.6140"
    a_vserver(aai, VSERVER.replace("v1", "v2"))
    assert relate(aai, VSERVER.replace("v1", "v2"), "vf-module", module).status_code == 200


def test_an_l_interface_needs_is_port_mirrored_and_holds_its_addresses(aai):
    region(aai)
    a_vserver(aai)
    missing = call(aai, "PUT", PORT, {"interface-name": "port-a"})
    assert missing.status_code == 400
    assert "is-port-mirrored" in service_exception(missing)["variables"][2]
    body = {"interface-name": "port-a", "is-port-mirrored": False, "l2-multicasting": False}
    assert call(aai, "PUT", PORT, body).status_code == 201
    held = call(aai, "GET", PORT).json()
    assert held["in-maint"] is False and held["is-ip-unnumbered"] is False
    assert "l2-multicasting" not in held  # only from v20: dropped like any unknown field
    v4 = PORT + "/l3-interface-ipv4-address-list/10.0.0.5"
    v6 = PORT + "/l3-interface-ipv6-address-list/fd00%3A%3A5"
    assert call(aai, "PUT", v4, {"l3-interface-ipv4-address": "10.0.0.5"}).status_code == 201
    assert call(aai, "PUT", v6, {"l3-interface-ipv6-address": "fd00::5"}).status_code == 201
    deep = call(aai, "GET", PORT, depth="1").json()
    assert deep["l3-interface-ipv4-address-list"][0]["l3-interface-ipv4-address"] == "10.0.0.5"
    assert deep["l3-interface-ipv6-address-list"][0]["l3-interface-ipv6-address"] == "fd00::5"
    answer = call(aai, "DELETE", VSERVER, **{"resource-version": version(aai, VSERVER)})
    assert answer.status_code == 204
    assert not aai.exists(PORT) and not aai.exists(v4) and not aai.exists(v6)


def test_l2_multicasting_is_required_from_v20():
    with FakeAai(version=20) as aai:
        region(aai)
        a_vserver(aai)
        body = {"interface-name": "port-a", "is-port-mirrored": False}
        missing = call(aai, "PUT", PORT, body)
        assert missing.status_code == 400
        assert "l2-multicasting" in service_exception(missing)["variables"][2]
        assert call(aai, "PUT", PORT, {**body, "l2-multicasting": False}).status_code == 201


def test_patch_merges_attributes(aai):
    region(aai)
    wrong_type = requests.patch(
        aai.base + CR, json={"identity-url": "x"}, headers=HEADERS, auth=("AAI", "AAI"), timeout=5
    )
    assert wrong_type.status_code == 400
    answer = requests.patch(
        aai.base + CR,
        data='{"identity-url": "http://proxy"}',
        headers={**HEADERS, "Content-Type": "application/merge-patch+json"},
        auth=("AAI", "AAI"),
        timeout=5,
    )
    assert answer.status_code == 200
    assert (
        aai.get(CR)["identity-url"] == "http://proxy" and aai.get(CR)["cloud-type"] == "openstack"
    )


def test_faults_down_up_slow_and_a_concurrent_writer(aai):
    region(aai)
    aai.down()
    with pytest.raises(requests.ConnectionError):
        call(aai, "GET", CR)
    aai.up()
    assert call(aai, "GET", CR).status_code == 200  # the data survived
    aai.slow(0.5)
    started = time.monotonic()
    call(aai, "GET", CR)
    assert time.monotonic() - started >= 0.5
    aai.slow(0)
    aai.concurrent_writer(1)
    body = {"resource-version": version(aai, CR)}
    assert call(aai, "PUT", CR, body).status_code == 412  # someone wrote in between
    body = {"resource-version": version(aai, CR)}
    assert call(aai, "PUT", CR, body).status_code == 200


def test_down_after_writes(aai):
    region(aai)
    aai.down_after_writes(1)
    tenant = {"tenant-id": "t1", "tenant-name": "one"}
    assert call(aai, "PUT", CR + "/tenants/tenant/t1", tenant).status_code == 201
    with pytest.raises(requests.ConnectionError):
        call(aai, "PUT", CR + "/tenants/tenant/t2", {**tenant, "tenant-id": "t2"})
    deadline = time.monotonic() + 5
    while aai.is_up and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not aai.is_up and not aai.exists(CR + "/tenants/tenant/t2")


def test_up_right_after_a_dropped_write_comes_back(aai):
    region(aai)
    aai.down_after_writes(0)
    with pytest.raises(requests.ConnectionError):
        call(aai, "PUT", CR + "/tenants/tenant/t1", {"tenant-id": "t1", "tenant-name": "one"})
    aai.up()  # at once: it waits for the shutdown the dropped write started
    assert aai.is_up and call(aai, "GET", CR).status_code == 200


def test_https_with_its_own_ca():
    with FakeAai(tls=True) as aai:
        answer = requests.get(
            aai.base + CR, headers=HEADERS, auth=("AAI", "AAI"), verify=aai.ca_file, timeout=5
        )
        assert answer.status_code == 404
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(aai.base + CR, headers=HEADERS, timeout=5)
