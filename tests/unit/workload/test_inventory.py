"""The stack walk and the A&AI bodies heatbridge writes, from Heat, Nova and Neutron answers."""

from __future__ import annotations

from multicloud.workload import inventory

CR = "/cloud-infrastructure/cloud-regions/cloud-region/owner/R1"


def resource(name, kind, status="CREATE_COMPLETE", physical="id-" + "x", parent=None) -> dict:
    found = {
        "resource_name": name,
        "resource_type": kind,
        "resource_status": status,
        "physical_resource_id": physical,
    }
    if parent:
        found["parent_resource"] = parent
    return found


def test_the_walk_finds_servers_of_nested_stacks_too():
    found = inventory.walk(
        [
            resource("net", "OS::Neutron::Net", physical="n1"),
            resource("vm", "server.yaml", physical="nested-stack"),
            resource("server", "OS::Nova::Server", physical="s1", parent="vm"),
            resource("port", "OS::Neutron::Port", physical="p1", parent="vm"),
            resource("group", "OS::Heat::ResourceGroup", physical="g"),
            resource("0", "vm.yaml", physical="g0", parent="group"),
            resource("server", "OS::Nova::Server", physical="s2", parent="0"),
            resource("top", "OS::Nova::Server", physical="s3"),
        ]
    )
    assert found.servers == [("0/server", "s2"), ("top", "s3"), ("vm/server", "s1")]
    assert found.unfinished == []


def test_the_walk_reports_what_is_not_finished_and_skips_what_never_existed():
    found = inventory.walk(
        [
            resource("a", "OS::Nova::Server", status="CREATE_IN_PROGRESS", physical="s1"),
            resource("b", "OS::Neutron::Port", status="CREATE_FAILED", parent="vm"),
            resource("c", "OS::Nova::Server", status="INIT_COMPLETE", physical=""),
            resource("d", "OS::Nova::Server", status="DELETE_COMPLETE", physical="s4"),
            resource("e", "OS::Nova::Server", status="UPDATE_COMPLETE", physical="s5"),
        ]
    )
    assert found.servers == [("e", "s5")]
    assert found.unfinished == [
        "a (OS::Nova::Server) CREATE_IN_PROGRESS",
        "vm/b (OS::Neutron::Port) CREATE_FAILED",
    ]


def test_vnf_ids_come_from_the_request_else_from_the_stack_parameters():
    stack = {"parameters": {"vnf_id": "vnf-p", "vf_module_id": "mod-p"}}
    assert inventory.vnf_ids({"generic-vnf-id": "vnf", "vf-module-id": ""}, stack) == (
        "vnf",
        "mod-p",
    )
    assert inventory.vnf_ids({}, {"parameters": {}}) == ("", "")


SERVER = {
    "id": "s1",
    "name": "vm-1",
    "status": "ACTIVE",
    "links": [{"rel": "bookmark", "href": "b"}, {"rel": "self", "href": "http://nova/servers/s1"}],
    "flavor": {"id": "f1"},
    "image": {"id": "i1"},
    "OS-EXT-SRV-ATTR:hypervisor_hostname": "compute-0",
}


def test_a_vserver_body_and_its_relationships():
    assert inventory.vserver_body(SERVER) == {
        "vserver-id": "s1",
        "vserver-name": "vm-1",
        "vserver-name2": "vm-1",
        "vserver-selflink": "http://nova/servers/s1",
        "prov-status": "ACTIVE",
        "in-maint": False,
        "is-closed-loop-disabled": False,
    }
    assert inventory.relationships(SERVER, "owner", "R1", "vnf-1", "mod-1") == [
        ("pserver", "/cloud-infrastructure/pservers/pserver/owner_R1_compute-0"),
        ("flavor", f"{CR}/flavors/flavor/f1"),
        ("image", f"{CR}/images/image/i1"),
        ("generic-vnf", "/network/generic-vnfs/generic-vnf/vnf-1"),
        ("vf-module", "/network/generic-vnfs/generic-vnf/vnf-1/vf-modules/vf-module/mod-1"),
    ]


def test_unknown_ends_get_no_relationship():
    booted_from_volume = {"id": "s1", "image": "", "flavor": {}}
    assert inventory.relationships(booted_from_volume, "o", "r", "", "mod-1") == []


PORT = {
    "id": "p1",
    "name": "",
    "mac_address": "fa:16:3e:00:00:01",
    "network_id": "n1",
    "fixed_ips": [
        {"subnet_id": "sub4", "ip_address": "10.0.0.5"},
        {"subnet_id": "sub6", "ip_address": "fd00::5"},
    ],
}


def test_an_l_interface_is_named_after_its_port_and_holds_both_address_families():
    assert inventory.interface_name(PORT) == "p1"  # no name: the id
    assert inventory.interface_name({**PORT, "name": "vm-port"}) == "vm-port"
    body = inventory.interface_body(PORT, "net-a", "http://neutron/v2.0/ports/p1")
    assert body == {
        "interface-name": "p1",
        "interface-id": "p1",
        "macaddr": "fa:16:3e:00:00:01",
        "network-name": "net-a",
        "selflink": "http://neutron/v2.0/ports/p1",
        "is-port-mirrored": False,
        "is-ip-unnumbered": False,
        "in-maint": False,
        "l2-multicasting": False,
    }
    addresses = inventory.address_bodies(PORT, {"sub4": 24})
    assert addresses == [
        (
            "10.0.0.5",
            {
                "l3-interface-ipv4-address": "10.0.0.5",
                "neutron-network-id": "n1",
                "neutron-subnet-id": "sub4",
                "is-floating": False,
                "l3-interface-ipv4-prefix-length": 24,
            },
        ),
        (
            "fd00::5",
            {
                "l3-interface-ipv6-address": "fd00::5",
                "neutron-network-id": "n1",
                "neutron-subnet-id": "sub6",
                "is-floating": False,
            },
        ),
    ]


def test_address_paths_and_what_an_interface_holds():
    interface = f"{CR}/tenants/tenant/t/vservers/vserver/s1/l-interfaces/l-interface/p1"
    assert inventory.address_path(interface, "fd00::5") == (
        f"{interface}/l3-interface-ipv6-address-list/fd00%3A%3A5"
    )
    held = {
        "l3-interface-ipv4-address-list": [{"l3-interface-ipv4-address": "10.0.0.5"}],
        "l3-interface-ipv6-address-list": [{"l3-interface-ipv6-address": "fd00::5"}],
    }
    assert inventory.held_addresses(held) == {"10.0.0.5", "fd00::5"}
    assert inventory.prefix_length("10.1.2.0/23") == 23
