"""Neutron resources of the typed API: networks (provider attributes), subnets, ports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from multicloud.exceptions import BadRequest, NotFound
from multicloud.resources.service import Page, Scope, only_one

#: VIO request field → Neutron attribute, per resource.
NETWORK_FIELDS = {
    "name": "name",
    "shared": "shared",
    "networkType": "provider:network_type",
    "physicalNetwork": "provider:physical_network",
    "segmentationId": "provider:segmentation_id",
    "vlanTransparent": "vlan_transparent",
    "routerExternal": "router:external",
}
SUBNET_FIELDS = {
    "name": "name",
    "networkId": "network_id",
    "cidr": "cidr",
    "ipVersion": "ip_version",
    "enableDhcp": "enable_dhcp",
    "gatewayIp": "gateway_ip",
    "dnsNameservers": "dns_nameservers",
    "hostRoutes": "host_routes",
    "allocationPools": "allocation_pools",
}
PORT_FIELDS = {
    "name": "name",
    "networkId": "network_id",
    "macAddress": "mac_address",
    "vnicType": "binding:vnic_type",
    "securityGroups": "security_groups",
}


def network_shape(net: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": net["id"],
        "name": net["name"],
        "status": net.get("status"),
        "shared": net.get("shared", False),
        "networkType": net.get("provider:network_type"),
        "physicalNetwork": net.get("provider:physical_network"),
        "segmentationId": net.get("provider:segmentation_id"),
        "vlanTransparent": net.get("vlan_transparent"),
        "routerExternal": net.get("router:external", False),
    }


def subnet_shape(subnet: dict[str, Any]) -> dict[str, Any]:
    """A Neutron subnet in the request's names.

    NOTE: the VIO reference answered ``dnsNameServers`` (api-contract §2.7); it stays too.
    """
    found = {"id": subnet["id"]}
    for ours, theirs in SUBNET_FIELDS.items():
        found[ours] = subnet.get(theirs)
    found["dnsNameServers"] = found["dnsNameservers"]
    return found


def port_shape(port: dict[str, Any]) -> dict[str, Any]:
    fixed = port.get("fixed_ips") or []
    return {
        "id": port["id"],
        "name": port.get("name"),
        "status": port.get("status"),
        "networkId": port["network_id"],
        "subnetId": fixed[0]["subnet_id"] if fixed else None,
        "ip": ",".join(item["ip_address"] for item in fixed),
        "macAddress": port.get("mac_address"),
        "vnicType": port.get("binding:vnic_type"),
        "securityGroups": port.get("security_groups") or [],
    }


KINDS: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "network": ("networks", network_shape),
    "subnet": ("subnets", subnet_shape),
    "port": ("ports", port_shape),
}


def _collection(kind: str) -> str:
    return KINDS[kind][0]


def find(scope: Scope, kind: str, key: str) -> dict[str, Any] | None:
    """The ``kind`` whose id, or name in this project, is ``key``; None when there is none."""
    plural = _collection(kind)
    try:
        return scope.call("neutron", "GET", f"/v2.0/{plural}/{key}")[kind]
    except NotFound:
        pass
    params = {"name": key, "project_id": scope.project_id}
    named = scope.call("neutron", "GET", f"/v2.0/{plural}", params=params)[plural]
    return only_one(named, kind, key)


def get(scope: Scope, kind: str, key: str) -> dict[str, Any]:
    found = find(scope, kind, key)
    if found is None:
        raise NotFound(f"{kind} {key!r} not found in {scope.region.vim_id}")
    return {**KINDS[kind][1](found), **scope.decoration()}


def listing(scope: Scope, kind: str, page: Page) -> dict[str, Any]:
    """One page of the project's ``kind`` (networks also show shared and external ones)."""
    plural, shape = KINDS[kind]
    params = page.params()
    if page.name:
        params.append(("name", page.name))
    if kind != "network":
        params.append(("project_id", scope.project_id))
    if page.marker:
        _check_marker(scope, plural, page.marker)
    found = scope.call("neutron", "GET", f"/v2.0/{plural}", params=params)[plural]
    return {plural: [shape(item) for item in found], **scope.decoration()}


def _check_marker(scope: Scope, plural: str, marker: str) -> None:
    """400 naming ``marker`` when it is no resource (Neutron would start from the top)."""
    try:
        scope.call("neutron", "GET", f"/v2.0/{plural}/{marker}", params=[("fields", "id")])
    except NotFound:
        raise BadRequest(f"field 'marker': no {plural[:-1]} {marker!r}", field="marker") from None


def delete(scope: Scope, kind: str, key: str) -> None:
    found = find(scope, kind, key)
    if found is None:
        raise NotFound(f"{kind} {key!r} not found in {scope.region.vim_id}")
    scope.call("neutron", "DELETE", f"/v2.0/{_collection(kind)}/{found['id']}")


def create(scope: Scope, kind: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(resource, created): the existing one by id or name, else a new one in the project."""
    for key in (body.get("id"), body["name"]):
        existing = key and find(scope, kind, key)
        if existing:
            return {**KINDS[kind][1](existing), **scope.decoration()}, False
    request = BUILDERS[kind](body)
    request["project_id"] = scope.project_id
    plural = _collection(kind)
    made = scope.call("neutron", "POST", f"/v2.0/{plural}", json={kind: request})[kind]
    return {**KINDS[kind][1](made), **scope.decoration()}, True


def _mapped(body: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    return {theirs: body[ours] for ours, theirs in fields.items() if body.get(ours) is not None}


def _network_request(body: dict[str, Any]) -> dict[str, Any]:
    request = _mapped(body, NETWORK_FIELDS)
    request.setdefault("shared", False)
    return request


def _subnet_request(body: dict[str, Any]) -> dict[str, Any]:
    return _mapped(body, SUBNET_FIELDS)


def _port_request(body: dict[str, Any]) -> dict[str, Any]:
    request = _mapped(body, PORT_FIELDS)
    ips = body.get("ip")
    if isinstance(ips, str):
        ips = [ip.strip() for ip in ips.split(",") if ip.strip()]
    if ips and not body.get("subnetId"):
        raise BadRequest("field 'subnetId' is required with 'ip'", field="subnetId")
    if ips:
        request["fixed_ips"] = [{"subnet_id": body["subnetId"], "ip_address": ip} for ip in ips]
    elif body.get("subnetId"):
        request["fixed_ips"] = [{"subnet_id": body["subnetId"]}]
    return request


BUILDERS = {"network": _network_request, "subnet": _subnet_request, "port": _port_request}
