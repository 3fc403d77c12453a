"""Heatbridge: a stack's servers and their ports written into A&AI, as a background job.

``POST .../infra_workload/{id}`` records (or restarts) a :class:`HeatbridgeJob` and
answers 202; the job, in a thread of that worker (:mod:`multicloud.jobs`), walks the
stack and its nested stacks and writes, for each ``OS::Nova::Server``, a vserver
under the project's tenant (created when A&AI lacks it) with its relationships, and
an l-interface (with its addresses) for each of the server's ports. Every write
reads the current resource-version first (the A&AI client), edges are idempotent,
so a rerun updates and never duplicates. A relationship whose other end A&AI does
not hold (a flavor made after the region was registered, a vf-module SO has not
written) is left out and reported, not fatal.

The job renews its lease as it goes; a job whose worker went away is resumed by the
next read of its stack (:func:`resume_if_orphaned`). Deleting the stack removes
what the job wrote (:func:`forget`) before Heat deletes anything.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import connections, transaction
from django.db.models import F
from django.utils import timezone

from multicloud import jobs
from multicloud.aai import client as aai
from multicloud.conf import get_settings
from multicloud.exceptions import Conflict, MulticloudError
from multicloud.openstack import client as openstack
from multicloud.resources import service as resources
from multicloud.vims.models import CloudRegion
from multicloud.workload import inventory
from multicloud.workload.heat import Heat
from multicloud.workload.models import HeatbridgeJob

log = logging.getLogger(__name__)

Status = HeatbridgeJob.Status
#: Stack states heatbridge writes (the stack and its resources exist).
WRITABLE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "RESUME_COMPLETE", "CHECK_COMPLETE")
#: What GET answers as ``workload_status`` while a job exists.
WORKLOAD_STATUS = {
    Status.PENDING: "UPDATE_IN_PROGRESS",
    Status.RUNNING: "UPDATE_IN_PROGRESS",
    Status.DONE: "UPDATE_COMPLETE",
    Status.FAILED: "UPDATE_FAILED",
}


class Superseded(Exception):
    """A rerun (or the stack's deletion) took over this run: it stops writing."""


def lease_seconds() -> float:
    """How long a run may go without renewing its lease: longer than a few slow calls."""
    return max(60.0, 4 * get_settings().cloud_timeout)


# --------------------------------------------------------------------------- the record


def request(record: CloudRegion, project_id: str, stack: dict[str, Any], given: dict[str, str]):
    """Record a (re)run of the stack's heatbridge; it starts once the record is committed."""
    job, _ = HeatbridgeJob.objects.get_or_create(
        region=record,
        stack_id=stack["id"],
        defaults={"stack_name": stack["stack_name"], "project_id": project_id},
    )
    with transaction.atomic():
        job = HeatbridgeJob.objects.select_for_update().get(pk=job.pk)
        job.generation += 1
        job.stack_name = stack["stack_name"]
        job.project_id = project_id
        job.generic_vnf_id = given.get("generic-vnf-id", "")
        job.vf_module_id = given.get("vf-module-id", "")
        job.status = Status.PENDING
        job.error = ""
        job.lease_until = jobs.lease(lease_seconds())
        job.save()
        pk, generation = job.pk, job.generation
        transaction.on_commit(lambda: _start(pk, generation))
    log.info("heatbridge of stack %s/%s queued", job.stack_name, job.stack_id)
    return job


def _start(pk: int, generation: int) -> None:
    """Queue the run; its lease is renewed while it waits in the queue or runs."""
    jobs.start(f"heatbridge-{pk}", run, pk, generation, keepalive=lambda: _renew(pk, generation))


def _renew(pk: int, generation: int) -> None:
    HeatbridgeJob.objects.filter(
        pk=pk, generation=generation, status__in=(Status.PENDING, Status.RUNNING)
    ).update(lease_until=jobs.lease(lease_seconds()))


def find(record: CloudRegion, stack_id: str) -> HeatbridgeJob | None:
    return HeatbridgeJob.objects.filter(region=record, stack_id=stack_id).first()


def resume_if_orphaned(job: HeatbridgeJob) -> None:
    """Start a pending or running job again when its lease ran out (its worker went away)."""
    if job.status not in (Status.PENDING, Status.RUNNING):
        return
    if job.lease_until is not None and job.lease_until > timezone.now():
        return
    taken = HeatbridgeJob.objects.filter(
        pk=job.pk, generation=job.generation, lease_until=job.lease_until
    ).update(lease_until=jobs.lease(lease_seconds()))
    if taken:
        log.warning("heatbridge of stack %s: its worker went away; resumed here", job.stack_id)
        _start(job.pk, job.generation)


def describe(job: HeatbridgeJob) -> dict[str, Any]:
    """The job as GET shows it, beside the stack."""
    return {
        "status": WORKLOAD_STATUS[Status(job.status)],
        "reason": job.error or _reason(job),
        "generic-vnf-id": job.generic_vnf_id,
        "vf-module-id": job.vf_module_id,
        **job.result,
        "updated": job.updated_at.isoformat(),
    }


def _reason(job: HeatbridgeJob) -> str:
    if job.status == Status.DONE:
        return f"the stack's servers are in A&AI ({len(job.result.get('vservers', []))} vservers)"
    return f"heatbridge of stack {job.stack_name}/{job.stack_id} into A&AI is in progress"


def forget(record: CloudRegion, stack_id: str) -> None:
    """Before the stack goes: stop its heatbridge and remove what it wrote from A&AI.

    An A&AI that cannot be reached leaves the job (stopped) and raises, so the stack
    is not deleted while its vservers would stay in A&AI.
    """
    job = find(record, stack_id)
    if job is None:
        return
    HeatbridgeJob.objects.filter(pk=job.pk).update(
        generation=F("generation") + 1,
        status=Status.FAILED,
        error="stopped: the stack is being deleted",
    )
    # NOTE: read after the bump: a run still going can note nothing more (its next note
    # is refused and it stops); only a write it noted just before can still land after.
    job.refresh_from_db()
    if get_settings().aai.enabled:
        client = aai.client()
        for path in sorted((job.written or {}).get("vservers", [])):
            # NOTE: a vserver's l-interfaces (and their addresses) go with it.
            client.delete(path)
    job.delete()
    log.info("heatbridge of stack %s: its vservers were removed from A&AI", stack_id)


# --------------------------------------------------------------------------- the job


def run(pk: int, generation: int) -> None:
    """One run of a heatbridge job; never raises (the outcome is recorded on the job)."""
    try:
        job = _claim(pk, generation)
        if job is not None:
            result = Bridge(job).write()
            _finish(pk, generation, status=Status.DONE, result=result)
            log.info("heatbridge of stack %s: done", job.stack_id)
    except Superseded:
        log.info("heatbridge job %s: superseded, stopped", pk)
    except MulticloudError as exc:
        log.warning("heatbridge job %s failed: %s", pk, exc.message)
        _finish(pk, generation, status=Status.FAILED, error=exc.message)
    except Exception as exc:  # noqa: BLE001 - recorded on the job, never lost
        log.exception("heatbridge job %s failed", pk)
        error = f"unexpected error ({type(exc).__name__}; see the service log)"
        _finish(pk, generation, status=Status.FAILED, error=error)
    finally:
        connections.close_all()


def _claim(pk: int, generation: int) -> HeatbridgeJob | None:
    current = HeatbridgeJob.objects.filter(pk=pk, generation=generation)
    if not current.update(status=Status.RUNNING, lease_until=jobs.lease(lease_seconds())):
        return None
    return current.select_related("region").first()


def _finish(pk: int, generation: int, **changes: Any) -> None:
    changes.update(lease_until=None, updated_at=timezone.now())
    HeatbridgeJob.objects.filter(pk=pk, generation=generation).update(**changes)


class Bridge:
    """One run: reads the stack, writes A&AI, keeps the job's footprint as it goes."""

    def __init__(self, job: HeatbridgeJob):
        self.job = job
        self.record: CloudRegion = job.region
        self.aai = aai.client()
        self.scope = resources.connect(self.record, job.project_id)
        written = job.written or {}
        self.written = {kind: set(written.get(kind, [])) for kind in ("vservers", "l-interfaces")}
        self.seen: dict[str, set[str]] = {"vservers": set(), "l-interfaces": set()}
        self.skipped: list[str] = []
        self.networks: dict[str, str] = {}
        self.prefixes: dict[str, int] = {}

    def write(self) -> dict[str, Any]:
        heat = Heat(self.scope)
        stack = heat.find(self.job.stack_id)
        if stack["stack_status"] not in WRITABLE:
            raise Conflict(
                f"stack {stack['stack_name']} is {stack['stack_status']}: "
                "heatbridge writes the servers of a finished stack"
            )
        found = inventory.walk(heat.resources(stack))
        if found.unfinished:
            raise Conflict(f"resources not finished: {'; '.join(found.unfinished)}")
        given = {"generic-vnf-id": self.job.generic_vnf_id, "vf-module-id": self.job.vf_module_id}
        vnf, module = inventory.vnf_ids(given, stack)
        tenant = self.tenant()
        for _where, server_id in found.servers:
            self.server(tenant, server_id, vnf, module)
        self.remove_stale()
        return {
            "vservers": sorted(p.rsplit("/", 1)[1] for p in self.seen["vservers"]),
            "l-interfaces": len(self.seen["l-interfaces"]),
            "skipped": self.skipped,
        }

    # ------------------------------------------------------------------ A&AI objects

    def tenant(self) -> str:
        """The tenant of the job's project, written when A&AI does not hold it."""
        owner, region = self.record.cloud_owner, self.record.cloud_region_id
        path = inventory.tenant_path(owner, region, self.scope.project_id)
        if self.aai.get(path) is None:
            with openstack.translate_errors(self.scope.what("identity")):
                name = openstack.token_access(self.scope.session).project_name
            body = {"tenant-id": self.scope.project_id, "tenant-name": name or ""}
            self.aai.put(path, body)
        return path

    def server(self, tenant: str, server_id: str, vnf: str, module: str) -> None:
        server = self.scope.call("nova", "GET", f"/servers/{server_id}")["server"]
        path = inventory.vserver_path(tenant, server_id)
        self.put("vservers", path, inventory.vserver_body(server))
        owner, region = self.record.cloud_owner, self.record.cloud_region_id
        self.relate(path, inventory.relationships(server, owner, region, vnf, module))
        ports = self.scope.call("neutron", "GET", "/v2.0/ports", params={"device_id": server_id})
        for port in ports["ports"]:
            self.interface(path, port)

    def interface(self, vserver: str, port: dict[str, Any]) -> None:
        path = inventory.interface_path(vserver, inventory.interface_name(port))
        selflink = f"{self.neutron_url()}/v2.0/ports/{port['id']}"
        body = inventory.interface_body(port, self.network_name(port["network_id"]), selflink)
        self.put("l-interfaces", path, body)
        for fixed in port.get("fixed_ips") or []:
            self.prefix(str(fixed.get("subnet_id") or ""))
        addresses = inventory.address_bodies(port, self.prefixes)
        for address, body in addresses:
            self.aai.put(inventory.address_path(path, address), body)
        held = self.aai.get(path, depth="1") or {}
        for address in inventory.held_addresses(held) - {a for a, _ in addresses}:
            self.aai.delete(inventory.address_path(path, address))

    def put(self, kind: str, path: str, body: dict[str, Any]) -> None:
        """Note ``path`` as the job's (before it exists: a cut-short run leaves none), write."""
        self.seen[kind].add(path)
        self.written[kind].add(path)
        self.save()
        self.aai.put(path, body)

    def relate(self, vserver: str, wanted: list[tuple[str, str]]) -> None:
        """The vserver's edges: one per kind (A&AI allows one), others of that kind removed."""
        current = _edges(self.aai.get(vserver) or {})
        for related_to, target in wanted:
            for stale in current.get(related_to, set()) - {target}:
                self.aai.unrelate(vserver, related_to, stale)
            try:
                self.aai.relate(vserver, related_to, target)
            except aai.AaiNotFound:
                self.skipped.append(f"{related_to} {target}: not in A&AI")

    def remove_stale(self) -> None:
        """What an earlier run wrote that the stack no longer has (servers or ports gone)."""
        for path in sorted(self.written["l-interfaces"] - self.seen["l-interfaces"]):
            if path.rsplit("/l-interfaces/", 1)[0] in self.seen["vservers"]:
                self.aai.delete(path)
            self.written["l-interfaces"].discard(path)
        for path in sorted(self.written["vservers"] - self.seen["vservers"]):
            self.aai.delete(path)  # NOTE: its l-interfaces go with it
            self.written["vservers"].discard(path)
        self.save()

    def save(self) -> None:
        """Persist the footprint and renew the lease; Superseded when a newer run took over."""
        written = {kind: sorted(paths) for kind, paths in self.written.items()}
        current = HeatbridgeJob.objects.filter(pk=self.job.pk, generation=self.job.generation)
        if not current.update(written=written, lease_until=jobs.lease(lease_seconds())):
            raise Superseded

    # ------------------------------------------------------------------ cloud lookups

    def network_name(self, network_id: str) -> str:
        if network_id not in self.networks:
            network = self.scope.call("neutron", "GET", f"/v2.0/networks/{network_id}")
            self.networks[network_id] = str(network["network"].get("name") or "")
        return self.networks[network_id]

    def prefix(self, subnet_id: str) -> None:
        if subnet_id and subnet_id not in self.prefixes:
            subnet = self.scope.call("neutron", "GET", f"/v2.0/subnets/{subnet_id}")["subnet"]
            self.prefixes[subnet_id] = inventory.prefix_length(subnet["cidr"])

    def neutron_url(self) -> str:
        with openstack.translate_errors(self.scope.what("network")):
            return str(self.scope.neutron.get_endpoint()).rstrip("/")


def _edges(node: dict[str, Any]) -> dict[str, set[str]]:
    """related-to → the version-less A&AI paths of a node's relationships."""
    found: dict[str, set[str]] = {}
    for rel in (node.get("relationship-list") or {}).get("relationship", []):
        link = str(rel.get("related-link") or "")
        parts = link.split("/", 3)
        path = "/" + parts[3] if link.startswith("/aai/") and len(parts) == 4 else link
        found.setdefault(str(rel.get("related-to")), set()).add(path)
    return found
