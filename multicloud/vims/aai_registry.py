"""The ``aai`` registry backend: A&AI is the source of truth for cloud regions.

ESR writes a cloud-region and its esr-system-info into A&AI, then posts an empty
registration. Registration reads the region (404 when A&AI does not hold it),
records a job (the region's discovery state, a database row) and answers 202.
The job, in the background, reads the credentials from A&AI (every time, so a
rotation in ESR takes effect), checks them against the cloud, discovers it with
:mod:`multicloud.vims.discovery` and writes it back (:mod:`multicloud.vims.aai_writeback`).
The credentials are kept like the local backend's (encrypted, never returned),
so every other per-region route works the same on an A&AI region.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import connections, transaction

from multicloud.aai import client as aai
from multicloud.conf import get_settings
from multicloud.exceptions import BadRequest, MulticloudError, NotFound
from multicloud.openstack import client as openstack
from multicloud.vims import discovery, hpa, service
from multicloud.vims.aai_writeback import Footprint, Writer
from multicloud.vims.models import AaiFootprint, CloudRegion
from multicloud.vims.types import check_handled

log = logging.getLogger(__name__)

ESR_LIST = "/esr-system-info-list"


def register(owner: str, region: str, body: Any, base_url: str, start: bool = True) -> CloudRegion:
    """Start (or restart) the registration of a region A&AI holds.

    ``start=False`` records the job without running it (the caller runs :func:`run`).
    """
    service.check_owner(owner)
    default_tenant = _default_tenant(body)
    cloud_region = aai.client().get(aai.cloud_region_path(owner, region))
    if cloud_region is None:
        raise NotFound(f"cloud region {owner}_{region} is not in A&AI")
    check_handled(str(cloud_region.get("cloud-type") or "").lower(), "A&AI says")
    with transaction.atomic():
        record = _store(owner, region, cloud_region)
        _store_footprint(record, default_tenant, _proxy_url(owner, region, base_url))
        if start:
            transaction.on_commit(lambda: discovery.start(record.pk, record.generation, run))
    log.info("cloud region %s: registration from A&AI started", record.vim_id)
    return record


def _default_tenant(body: Any) -> str:
    """Only ``defaultTenant`` of the body counts; credentials come from A&AI."""
    if body is None:
        return ""
    if not isinstance(body, dict):
        raise BadRequest("registration body must be empty or a JSON object")
    value = body.get("defaultTenant", "")
    if not isinstance(value, str):
        raise BadRequest("defaultTenant must be a string (a project name)")
    return value.strip()


def _proxy_url(owner: str, region: str, base_url: str) -> str:
    base = get_settings().public_url or base_url.rstrip("/")
    return f"{base}/api/multicloud/v1/{owner}/{region}/identity/v3"


def _store(owner: str, region: str, cloud_region: dict[str, Any]) -> CloudRegion:
    record = (
        CloudRegion.objects.select_for_update()
        .filter(cloud_owner=owner, cloud_region_id=region)
        .first()
    )
    if record is None:
        record = CloudRegion(cloud_owner=owner, cloud_region_id=region, password="")
    else:
        record.generation += 1
    record.cloud_type = str(cloud_region["cloud-type"]).lower()
    record.cloud_region_version = str(cloud_region.get("cloud-region-version") or "")
    record.attributes = service.public_attributes(cloud_region)
    record.discovery_status = CloudRegion.Discovery.PENDING
    record.discovery_error = ""
    record.save()
    return record


def _store_footprint(record: CloudRegion, default_tenant: str, identity_url: str) -> None:
    footprint, _ = AaiFootprint.objects.get_or_create(region=record)
    footprint.default_tenant = default_tenant
    footprint.identity_url = identity_url
    footprint.save()


# --------------------------------------------------------------------------- the job


def run(pk: int, generation: int) -> None:
    """The registration job; never raises (the outcome is recorded on the region)."""
    try:
        record = CloudRegion.objects.get(pk=pk, generation=generation)
    except CloudRegion.DoesNotExist:
        return
    try:
        discovery.mark_discovery(pk, generation, discovery_status=CloudRegion.Discovery.RUNNING)
        found = _run(record)
        discovery.mark_discovery(
            pk, generation, discovery_status=CloudRegion.Discovery.DONE, discovered=found
        )
        log.info("registration of %s from A&AI: done", record.vim_id)
    except MulticloudError as exc:
        log.warning("registration of %s from A&AI failed: %s", record.vim_id, exc.message)
        _fail(pk, generation, exc.message)
    except Exception as exc:  # noqa: BLE001 - recorded on the region, never lost
        log.exception("registration of %s from A&AI failed", record.vim_id)
        _fail(pk, generation, f"unexpected error: {exc}")
    finally:
        connections.close_all()


def _fail(pk: int, generation: int, reason: str) -> None:
    discovery.mark_discovery(
        pk, generation, discovery_status=CloudRegion.Discovery.FAILED, discovery_error=reason
    )


def _run(record: CloudRegion) -> dict[str, Any]:
    client = aai.client()
    footprint = AaiFootprint.objects.get(region=record)
    registration = read_registration(client, record, footprint.default_tenant)
    if not _store_credentials(record, registration):
        raise MulticloudError("superseded by a newer registration")
    openstack.check_credentials(openstack.credentials(record))
    found = discovery.discover(record)
    writer = Writer(client, record, Footprint(footprint))
    writer.write(found, _extras(record, found))
    found["aai"] = writer.footprint.summary()
    return found


def read_registration(
    client: aai.AaiClient, record: CloudRegion, default_tenant: str
) -> service.Registration:
    """The region and its esr-system-info as A&AI holds them now, validated."""
    path = aai.cloud_region_path(record.cloud_owner, record.cloud_region_id)
    cloud_region = client.get(path)
    if cloud_region is None:
        raise NotFound(f"cloud region {record.vim_id} is no longer in A&AI")
    infos = client.get_list(path + ESR_LIST, "esr-system-info")
    if not infos:
        raise BadRequest(f"A&AI holds no esr-system-info for {record.vim_id}")
    esr = dict(infos[0])
    if default_tenant:
        esr["default-tenant"] = default_tenant
    body = {**cloud_region, "esr-system-info-list": {"esr-system-info": [esr]}}
    registration = service.parse_registration(record.cloud_owner, record.cloud_region_id, body)
    fields = registration.fields
    if not fields["openstack_region_id"]:
        fields["openstack_region_id"] = str(
            esr.get("openstack-region-id") or cloud_region.get("cloud-epa-caps") or ""
        )
    return registration


def _store_credentials(record: CloudRegion, registration: service.Registration) -> bool:
    for name, value in registration.fields.items():
        setattr(record, name, value)
    record.password = registration.password
    record.notification_transport_url = registration.transport_url
    record.attributes = registration.attributes
    changes = {
        name: getattr(record, name)
        for name in (
            *registration.fields,
            "password_encrypted",
            "notification_transport_url_encrypted",
            "attributes",
        )
    }
    updated = CloudRegion.objects.filter(pk=record.pk, generation=record.generation)
    return bool(updated.update(**changes))


def _extras(record: CloudRegion, found: dict[str, Any]) -> dict[str, Any]:
    """What A&AI needs beyond discovery: extra specs of onap.* flavors, AZ hosts."""
    compute = openstack.adapter(record, "compute")
    specs = {}
    with openstack.translate_errors(f"{record.vim_id} flavor extra specs"):
        for flavor in found.get("flavors", []):
            if hpa.wants_hpa(flavor.get("name")):
                answer = compute.get(f"/flavors/{flavor['id']}/os-extra_specs")
                specs[str(flavor["id"])] = answer.json().get("extra_specs", {})
    return {"extra_specs": specs, "zone_of_host": _zone_of_host(compute)}


def _zone_of_host(compute: Any) -> dict[str, str]:
    """host -> availability zone (empty when the user may not see hosts)."""
    try:
        zones = compute.get("/os-availability-zone/detail").json()["availabilityZoneInfo"]
    except Exception:  # noqa: BLE001 - hosts need the admin role; pservers then have no AZ
        log.info("availability zone hosts are not visible; pservers get no AZ relationship")
        return {}
    return {
        host: z["zoneName"]
        for z in zones
        if z["zoneName"] != "internal"
        for host in (z.get("hosts") or {})
    }


# --------------------------------------------------------------------------- status, unregister


def describe(record: CloudRegion) -> dict[str, Any]:
    """GET .../registry: the job's state and what this service wrote into A&AI."""
    body = service.describe(record)
    footprint = AaiFootprint.objects.filter(region=record).first()
    body["aai"] = {
        "identity-url": footprint.identity_url if footprint else "",
        "written": (footprint.written if footprint else {}),
        "kept": (footprint.kept if footprint else []),
    }
    return body


def unregister(owner: str, region: str) -> None:
    """Remove from A&AI what this service wrote, then forget the region."""
    record = service.get_region(owner, region)
    footprint = AaiFootprint.objects.filter(region=record).first()
    if footprint is not None:
        Writer(aai.client(), record, Footprint(footprint)).remove_all()
    record.delete()
    log.info(
        "cloud region %s_%s unregistered (A&AI objects of this service removed)", owner, region
    )
