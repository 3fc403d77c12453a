"""What heatbridge writes into A&AI, computed from Heat, Nova and Neutron answers (pure).

The stack walk picks the servers of a stack and of every stack nested in it (Heat
lists them all with ``nested_depth``); the bodies follow A&AI's schema (contract §2)
and what SO's own heatbridge writes (§6): a vserver per server with relationships to
its pserver, flavor, image, generic-vnf and vf-module, an l-interface per port with
its addresses.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from multicloud.aai.client import cloud_region_path, path_of

SERVER_TYPE = "OS::Nova::Server"
#: Resource states that say the resource exists (not being made, failed or gone).
DONE_ACTIONS = ("CREATE", "UPDATE", "RESUME", "CHECK", "SNAPSHOT", "SUSPEND", "ADOPT", "RESTORE")
#: Resource states of resources that were never made (a false condition) or are gone.
ABSENT = ("INIT_COMPLETE", "DELETE_COMPLETE")


@dataclass(frozen=True)
class Walk:
    """What heatbridge needs of a stack's resources."""

    #: (resource path, physical id) of each server, nested stacks included.
    servers: list[tuple[str, str]]
    #: "resource (type) status" of each resource that is not finished, or failed.
    unfinished: list[str]


def walk(resources: list[dict[str, Any]]) -> Walk:
    """The servers of a stack and what keeps it from being written, nested stacks included."""
    servers, unfinished = [], []
    for resource in resources:
        status = str(resource.get("resource_status") or "")
        where = _resource_path(resource)
        if status in ABSENT:
            continue
        if not _exists(status):
            unfinished.append(f"{where} ({resource.get('resource_type')}) {status}")
        elif resource.get("resource_type") == SERVER_TYPE and resource.get("physical_resource_id"):
            servers.append((where, str(resource["physical_resource_id"])))
    return Walk(sorted(set(servers)), sorted(unfinished))


def _exists(status: str) -> bool:
    action, _, state = status.partition("_")
    return state == "COMPLETE" and action in DONE_ACTIONS


def _resource_path(resource: dict[str, Any]) -> str:
    """``parent/name`` for a resource of a nested stack, else its name."""
    name = str(resource.get("resource_name") or resource.get("logical_resource_id") or "?")
    parent = resource.get("parent_resource")
    return f"{parent}/{name}" if parent else name


def vnf_ids(given: dict[str, str], stack: dict[str, Any]) -> tuple[str, str]:
    """(generic-vnf-id, vf-module-id): the request's, else the stack's vnf_id / vf_module_id.

    SO sends both, taken from those template parameters ("" when the template has none).
    """
    parameters = stack.get("parameters") or {}
    vnf = given.get("generic-vnf-id") or str(parameters.get("vnf_id") or "")
    module = given.get("vf-module-id") or str(parameters.get("vf_module_id") or "")
    return vnf, module


# --------------------------------------------------------------------------- A&AI paths


def tenant_path(owner: str, region: str, project_id: str) -> str:
    return cloud_region_path(owner, region) + path_of("tenants", "tenant", project_id)


def vserver_path(tenant: str, server_id: str) -> str:
    return tenant + path_of("vservers", "vserver", server_id)


def interface_path(vserver: str, name: str) -> str:
    return vserver + path_of("l-interfaces", "l-interface", name)


def address_path(interface: str, address: str) -> str:
    version = ipaddress.ip_address(address).version
    return interface + path_of(f"l3-interface-ipv{version}-address-list", address)


def generic_vnf_path(vnf_id: str) -> str:
    return path_of("network", "generic-vnfs", "generic-vnf", vnf_id)


def vf_module_path(vnf_id: str, module_id: str) -> str:
    return generic_vnf_path(vnf_id) + path_of("vf-modules", "vf-module", module_id)


def pserver_path(owner: str, region: str, hypervisor: str) -> str:
    """The pserver registration writes for a hypervisor: ``{owner}_{region}_{hostname}``."""
    return path_of("cloud-infrastructure", "pservers", "pserver", f"{owner}_{region}_{hypervisor}")


# --------------------------------------------------------------------------- bodies


def vserver_body(server: dict[str, Any]) -> dict[str, Any]:
    links = {link.get("rel"): link.get("href") for link in server.get("links") or []}
    return {
        "vserver-id": server["id"],
        "vserver-name": server.get("name") or server["id"],
        "vserver-name2": server.get("name") or server["id"],
        "vserver-selflink": links.get("self") or links.get("bookmark") or server["id"],
        "prov-status": server.get("status") or "",
        "in-maint": False,
        "is-closed-loop-disabled": False,
    }


def interface_name(port: dict[str, Any]) -> str:
    """The l-interface key: the port's name, its id when it has none."""
    return str(port.get("name") or port["id"])


def interface_body(port: dict[str, Any], network_name: str, selflink: str) -> dict[str, Any]:
    body = {
        "interface-name": interface_name(port),
        "interface-id": port["id"],
        "macaddr": port.get("mac_address") or "",
        "network-name": network_name,
        "selflink": selflink,
        "is-port-mirrored": False,
        "is-ip-unnumbered": False,
        "in-maint": False,
        # NOTE: required from schema v20; an older A&AI drops what it does not know.
        "l2-multicasting": False,
    }
    return {k: v for k, v in body.items() if v != ""}


def address_bodies(
    port: dict[str, Any], prefixes: dict[str, int]
) -> list[tuple[str, dict[str, Any]]]:
    """(address, body) per fixed IP of the port (``prefixes``: subnet id → prefix length)."""
    found = []
    for fixed in port.get("fixed_ips") or []:
        address = str(fixed.get("ip_address") or "")
        if not address:
            continue
        version = ipaddress.ip_address(address).version
        body: dict[str, Any] = {
            f"l3-interface-ipv{version}-address": address,
            "neutron-network-id": port.get("network_id"),
            "neutron-subnet-id": fixed.get("subnet_id"),
            "is-floating": False,
        }
        prefix = prefixes.get(str(fixed.get("subnet_id")))
        if prefix is not None:
            body[f"l3-interface-ipv{version}-prefix-length"] = prefix
        found.append((address, {k: v for k, v in body.items() if v is not None}))
    return found


def held_addresses(interface: dict[str, Any]) -> set[str]:
    """The addresses an l-interface read with ``depth=1`` holds (both IP versions)."""
    found = set()
    for version in (4, 6):
        for entry in interface.get(f"l3-interface-ipv{version}-address-list") or []:
            found.add(str(entry.get(f"l3-interface-ipv{version}-address")))
    return found


def prefix_length(cidr: str) -> int:
    return ipaddress.ip_network(cidr, strict=False).prefixlen


def relationships(
    server: dict[str, Any], owner: str, region: str, vnf_id: str, module_id: str
) -> list[tuple[str, str]]:
    """(related-to, A&AI path) of every edge a vserver gets; unknown ends are left out."""
    base = cloud_region_path(owner, region)
    found = []
    hypervisor = server.get("OS-EXT-SRV-ATTR:hypervisor_hostname")
    if hypervisor:
        found.append(("pserver", pserver_path(owner, region, str(hypervisor))))
    flavor = (server.get("flavor") or {}).get("id")
    if flavor:
        found.append(("flavor", base + path_of("flavors", "flavor", str(flavor))))
    image = server.get("image") or {}
    if isinstance(image, dict) and image.get("id"):
        found.append(("image", base + path_of("images", "image", str(image["id"]))))
    if vnf_id:
        found.append(("generic-vnf", generic_vnf_path(vnf_id)))
        if module_id:
            found.append(("vf-module", vf_module_path(vnf_id, module_id)))
    return found
