"""Does a VM of a given size fit in a cloud region?

Units follow ONAP's capacity-check spec: ``vCPU`` (count), ``Memory`` (GB,
float) and ``Storage`` (GB, int). The answer is yes when the project's quota
leaves room (Nova cores and RAM; Cinder gigabytes when the cloud has Cinder;
-1 means unlimited) and at least one enabled, up hypervisor has the free
vCPUs, memory and disk. Per availability zone totals are reported too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from keystoneauth1 import exceptions as ks_exc

from multicloud.exceptions import BadRequest
from multicloud.openstack import client
from multicloud.vims.models import CloudRegion

log = logging.getLogger(__name__)

MB_PER_GB = 1024


@dataclass(frozen=True)
class Demand:
    vcpus: int
    memory_gb: float
    storage_gb: int


def parse_demand(body: Any) -> Demand:
    """``{"vCPU", "Memory", "Storage"}``; a missing value means 0; 400 when not numbers."""
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object with vCPU, Memory and Storage")
    try:
        demand = Demand(
            vcpus=int(body.get("vCPU", 0) or 0),
            memory_gb=float(body.get("Memory", 0) or 0),
            storage_gb=int(body.get("Storage", 0) or 0),
        )
    except (TypeError, ValueError):
        raise BadRequest("vCPU and Storage must be integers and Memory a number (GB)") from None
    if min(demand.vcpus, demand.memory_gb, demand.storage_gb) < 0:
        raise BadRequest("vCPU, Memory and Storage must not be negative")
    return demand


def check(record: CloudRegion, demand: Demand, project: str | None = None) -> dict[str, Any]:
    """``{"result": bool, "AZs": [...]}`` for ``demand`` in ``record``'s region."""
    scope = _scope(project)
    with client.translate_errors(f"{record.vim_id} compute service"):
        nova = client.adapter(record, "compute", **scope)
        quota_ok = _fits_nova_quota(nova, demand) and _fits_volume_quota(record, demand, scope)
        hypervisors = nova.get("/os-hypervisors/detail").json()["hypervisors"]
        zones = _host_zones(nova)
    usable = [h for h in hypervisors if h.get("status") == "enabled" and h.get("state") == "up"]
    fits_a_host = any(_fits_host(h, demand) for h in usable)
    return {"result": quota_ok and fits_a_host, "AZs": _zone_totals(usable, zones)}


def _scope(project: str | None) -> dict[str, str]:
    """The ``Project`` header names a project by id or by name; none: the default project."""
    return client.project_scope(project) if project else {}


def _available(limit: int, used: int) -> float:
    return float("inf") if limit < 0 else float(limit - used)


def _fits_nova_quota(nova, demand: Demand) -> bool:
    absolute = nova.get("/limits").json()["limits"]["absolute"]
    cores = _available(absolute["maxTotalCores"], absolute.get("totalCoresUsed", 0))
    ram_mb = _available(absolute["maxTotalRAMSize"], absolute.get("totalRAMUsed", 0))
    return cores >= demand.vcpus and ram_mb >= demand.memory_gb * MB_PER_GB


def _fits_volume_quota(record: CloudRegion, demand: Demand, scope: dict[str, str]) -> bool:
    if demand.storage_gb == 0:
        return True
    try:
        cinder = client.adapter(record, "block-storage", **scope)
        absolute = cinder.get("/limits").json()["limits"]["absolute"]
    except ks_exc.EndpointNotFound:
        # NOTE: no Cinder: instances use local disk only, checked per hypervisor.
        return True
    room = _available(absolute["maxTotalVolumeGigabytes"], absolute.get("totalGigabytesUsed", 0))
    return room >= demand.storage_gb


def _host_zones(nova) -> dict[str, str]:
    """compute host name → availability zone (needs admin; else every host in "nova")."""
    try:
        zones = nova.get("/os-availability-zone/detail").json()["availabilityZoneInfo"]
    except ks_exc.Forbidden:
        return {}
    return {
        host: zone["zoneName"]
        for zone in zones
        if zone["zoneName"] != "internal"
        for host in (zone.get("hosts") or {})
    }


def _free(h: dict[str, Any]) -> tuple[int, float, int]:
    vcpus = h.get("vcpus", 0) - h.get("vcpus_used", 0)
    memory_gb = (h.get("memory_mb", 0) - h.get("memory_mb_used", 0)) / MB_PER_GB
    disk_gb = h.get("local_gb", 0) - h.get("local_gb_used", 0)
    return vcpus, memory_gb, disk_gb


def _fits_host(h: dict[str, Any], demand: Demand) -> bool:
    vcpus, memory_gb, disk_gb = _free(h)
    return vcpus >= demand.vcpus and memory_gb >= demand.memory_gb and disk_gb >= demand.storage_gb


def _zone_totals(hypervisors: list[dict], zones: dict[str, str]) -> list[dict[str, Any]]:
    totals: dict[str, dict[str, Any]] = {}
    for h in hypervisors:
        host = (h.get("service") or {}).get("host") or h.get("hypervisor_hostname")
        name = zones.get(host, "nova") if host else "nova"
        zone = totals.setdefault(
            name,
            {
                "availability-zone-name": name,
                "vCPUTotal": 0,
                "vCPUAvail": 0,
                "MemoryTotal": 0.0,
                "MemoryAvail": 0.0,
                "StorageTotal": 0,
                "StorageAvail": 0,
            },
        )
        vcpus, memory_gb, disk_gb = _free(h)
        zone["vCPUTotal"] += h.get("vcpus", 0)
        zone["vCPUAvail"] += vcpus
        zone["MemoryTotal"] += h.get("memory_mb", 0) / MB_PER_GB
        zone["MemoryAvail"] += memory_gb
        zone["StorageTotal"] += h.get("local_gb", 0)
        zone["StorageAvail"] += disk_gb
    return sorted(totals.values(), key=lambda z: z["availability-zone-name"])
