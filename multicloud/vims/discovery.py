"""Background discovery of a registered cloud: projects, flavors, images, AZs, hypervisors.

Each category is fetched on its own; one that fails (e.g. hypervisors need the
admin role) is reported under ``errors`` without failing the others. A run
whose registration was superseded (re-registered meanwhile) writes nothing.

The job's state is the region's database row, so every worker and replica
answers it. The process holding a job (queued or running) touches that row
every ``jobs.BEAT`` seconds; a pending or running job silent for ``SILENT`` seconds
belongs to a worker that went away (a restart, a crash) and reads as failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import connections
from django.utils import timezone

from multicloud import jobs
from multicloud.exceptions import MulticloudError
from multicloud.openstack import client
from multicloud.vims import tenants as tenant_service
from multicloud.vims.models import CloudRegion

log = logging.getLogger(__name__)

Discovered = dict[str, Any]


_UNFINISHED = (CloudRegion.Discovery.PENDING, CloudRegion.Discovery.RUNNING)
#: A pending or running job not touched for this long has lost its worker.
SILENT = 4 * jobs.BEAT
INTERRUPTED = (
    "the registration job stopped without finishing (the worker running it went away); "
    "register again"
)


def start(pk: int, generation: int, target: Callable[[int, int], None] | None = None) -> jobs.Job:
    """Discover in a background job (:func:`multicloud.jobs.start`, a bounded pool).

    ``target`` replaces :func:`run` (the A&AI registry's job runs discovery too). While
    the job is queued or running, its region row is touched every ``jobs.BEAT`` seconds.
    """
    return jobs.start(
        f"discovery-{pk}", target or run, pk, generation, keepalive=lambda: touch(pk, generation)
    )


def touch(pk: int, generation: int) -> None:
    """Mark the job alive (its region row's ``updated_at``), unless it ended or was superseded."""
    CloudRegion.objects.filter(
        pk=pk, generation=generation, discovery_status__in=_UNFINISHED
    ).update(updated_at=timezone.now())


def job_state(record: CloudRegion) -> tuple[str, str]:
    """The job's (status, error), a silent unfinished one read as failed."""
    silent = timezone.now() - record.updated_at > timedelta(seconds=SILENT)
    if record.discovery_status in _UNFINISHED and silent:
        return CloudRegion.Discovery.FAILED, INTERRUPTED
    return record.discovery_status, record.discovery_error


def run(pk: int, generation: int) -> None:
    """Discover one region; never raises (the outcome is recorded on the region)."""
    try:
        record = CloudRegion.objects.get(pk=pk, generation=generation)
    except CloudRegion.DoesNotExist:
        return
    try:
        mark_discovery(pk, generation, discovery_status=CloudRegion.Discovery.RUNNING)
        found = discover(record)
        ok = len(found["errors"]) < len(CATEGORIES)
        status = CloudRegion.Discovery.DONE if ok else CloudRegion.Discovery.FAILED
        error = "" if ok else "; ".join(f"{k}: {v}" for k, v in found["errors"].items())
        mark_discovery(
            pk, generation, discovery_status=status, discovery_error=error, discovered=found
        )
        log.info("discovery of %s: %s", record.vim_id, status)
    except Exception as exc:  # noqa: BLE001 - recorded on the region, never lost
        log.exception("discovery of %s failed", record.vim_id)
        mark_discovery(
            pk,
            generation,
            discovery_status=CloudRegion.Discovery.FAILED,
            discovery_error=f"unexpected error ({type(exc).__name__}; see the service log)",
        )
    finally:
        connections.close_all()


def discover(record: CloudRegion) -> Discovered:
    found: Discovered = {"errors": {}}
    for name, fetch in CATEGORIES.items():
        try:
            with client.translate_errors(f"{record.vim_id} {name}"):
                found[name] = fetch(record)
        except MulticloudError as exc:
            found[name] = []
            found["errors"][name] = exc.message
    return found


def tenants(record: CloudRegion) -> list[dict[str, Any]]:
    return tenant_service.list_projects(record)


def flavors(record: CloudRegion) -> list[dict[str, Any]]:
    body = client.adapter(record, "compute").get("/flavors/detail", params={"is_public": "None"})
    keys = (
        "id",
        "name",
        "vcpus",
        "ram",
        "disk",
        "OS-FLV-EXT-DATA:ephemeral",
        "swap",
        "os-flavor-access:is_public",
        "OS-FLV-DISABLED:disabled",
        "links",
    )
    return [{k: f.get(k) for k in keys} for f in body.json()["flavors"]]


#: Most pages of one listing discovery reads (a cloud could answer ``next`` forever).
MAX_PAGES = 50


def images(record: CloudRegion) -> list[dict[str, Any]]:
    glance = client.adapter(record, "image")
    keys = (
        "id",
        "name",
        "status",
        "disk_format",
        "container_format",
        "size",
        "visibility",
        "os_distro",
        "os_version",
        "architecture",
        "self",
    )
    found: list[dict[str, Any]] = []
    url: str | None = "/v2/images?limit=200"
    seen: set[str] = set()
    while url and len(seen) < MAX_PAGES:
        seen.add(url)
        page = glance.get(url).json()
        found += [{k: image.get(k) for k in keys} for image in page["images"]]
        url = _next_link(page.get("next"), seen)
    return found


def _next_link(link: Any, seen: set[str]) -> str | None:
    """Glance's ``next`` when it is a new path on the same service (never another host)."""
    if not isinstance(link, str) or not link.startswith("/v2/images") or link in seen:
        return None
    return link


def availability_zones(record: CloudRegion) -> list[dict[str, Any]]:
    body = client.adapter(record, "compute").get("/os-availability-zone").json()
    return [
        {"name": zone["zoneName"], "available": zone["zoneState"]["available"]}
        for zone in body["availabilityZoneInfo"]
    ]


def hypervisors(record: CloudRegion) -> list[dict[str, Any]]:
    body = client.adapter(record, "compute").get("/os-hypervisors/detail").json()
    keys = (
        "id",
        "hypervisor_hostname",
        "hypervisor_type",
        "state",
        "status",
        "vcpus",
        "memory_mb",
        "local_gb",
        "host_ip",
        "service",
    )
    return [{k: h.get(k) for k in keys} for h in body["hypervisors"]]


CATEGORIES: dict[str, Callable[[CloudRegion], list[dict[str, Any]]]] = {
    "tenants": tenants,
    "flavors": flavors,
    "images": images,
    "availability-zones": availability_zones,
    "hypervisors": hypervisors,
}


def mark_discovery(pk: int, generation: int, **changes: Any) -> bool:
    """Update discovery fields unless a newer registration superseded this run."""
    if changes.get("discovery_status") in (
        CloudRegion.Discovery.DONE,
        CloudRegion.Discovery.FAILED,
    ):
        changes["discovered_at"] = timezone.now()
    changes["updated_at"] = timezone.now()
    return bool(CloudRegion.objects.filter(pk=pk, generation=generation).update(**changes))
