"""The cloud-region registry (local backend: this service's database).

A region is registered with A&AI's cloud-region JSON; the credentials are
checked against the cloud before anything is stored, then the cloud is
discovered in the background (:mod:`multicloud.vims.discovery`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from django.db import transaction

from multicloud.exceptions import BadRequest, NotFound
from multicloud.http import Request
from multicloud.messaging_url import check_transport_url
from multicloud.openstack import client
from multicloud.vims import cache, discovery
from multicloud.vims.models import CloudRegion
from multicloud.vims.types import check_handled

log = logging.getLogger(__name__)


def parse_vim_id(vimid: str) -> tuple[str, str]:
    """``{cloud-owner}_{cloud-region-id}`` → (owner, region), split on the first ``_``."""
    owner, sep, region = vimid.partition("_")
    if not sep or not owner or not region:
        raise BadRequest(f"invalid vim id {vimid!r}: expected {{cloud-owner}}_{{cloud-region-id}}")
    return owner, region


def check_owner(owner: str) -> str:
    if "_" in owner:
        raise BadRequest(f"invalid cloud-owner {owner!r}: it must not contain '_'")
    return owner


def region_key(params: dict[str, str]) -> tuple[str, str]:
    """(owner, region) from a v0 ``{vimid}`` or v1 ``{owner}/{region}`` path."""
    if "vimid" in params:
        return parse_vim_id(params["vimid"])
    return check_owner(params["owner"]), params["region"]


def get_region(owner: str, region: str) -> CloudRegion:
    """The registered region (cached per worker, see :mod:`multicloud.vims.cache`); else 404."""
    record = cache.find_region(owner, region)
    if record is None:
        raise NotFound(f"cloud region {owner}_{region} is not registered")
    return record


def region_of(request: Request) -> CloudRegion:
    """The registered region a per-region request is under (404 when unknown)."""
    return get_region(*region_key(request.params))


def region_fields(record: CloudRegion, tenant_id: str | None = None) -> dict[str, str]:
    """The region fields added to answers; ``vimName`` is the vim id, as the contract says."""
    fields = {
        "vimId": record.vim_id,
        "vimName": record.vim_id,
        "cloud_owner": record.cloud_owner,
        "cloud_region_id": record.cloud_region_id,
    }
    if tenant_id is not None:
        fields["tenantId"] = tenant_id
    return fields


def list_regions() -> list[CloudRegion]:
    return list(CloudRegion.objects.order_by("cloud_owner", "cloud_region_id"))


@dataclass
class Registration:
    """A validated registration body."""

    fields: dict[str, Any]
    password: str
    transport_url: str
    attributes: dict[str, Any]


def register(owner: str, region: str, body: Any) -> tuple[CloudRegion, bool]:
    """Check, store (or update) a region and start its discovery; (region, created)."""
    check_owner(owner)
    registration = parse_registration(owner, region, body)
    _check_credentials(registration)
    with transaction.atomic():
        record, created = _store(owner, region, registration)
        transaction.on_commit(lambda: _start_discovery(record.pk, record.generation))
    log.info("cloud region %s %s", record.vim_id, "registered" if created else "updated")
    return record, created


def _check_credentials(registration: Registration) -> None:
    """The credentials work; nothing is left on disk when they do not (M2)."""
    cacert = registration.fields["ssl_cacert"]
    path = client.cacert_path(cacert) if cacert.strip() else None
    existed = path is not None and path.exists()
    try:
        client.check_credentials(_credentials_of(registration))
    except BaseException:
        if path is not None and not existed:
            path.unlink(missing_ok=True)
        raise


def _store(owner: str, region: str, registration: Registration) -> tuple[CloudRegion, bool]:
    record = (
        CloudRegion.objects.select_for_update()
        .filter(cloud_owner=owner, cloud_region_id=region)
        .first()
    )
    created = record is None
    if created:
        record = CloudRegion(cloud_owner=owner, cloud_region_id=region)
    else:
        record.generation += 1
    for name, value in registration.fields.items():
        setattr(record, name, value)
    record.password = registration.password
    record.notification_transport_url = registration.transport_url
    record.attributes = registration.attributes
    record.discovery_status = CloudRegion.Discovery.PENDING
    record.discovery_error = ""
    record.save()
    return record, created


def _start_discovery(pk: int, generation: int) -> None:
    discovery.start(pk, generation)


def unregister(owner: str, region: str) -> None:
    deleted, _ = CloudRegion.objects.filter(cloud_owner=owner, cloud_region_id=region).delete()
    if not deleted:
        raise NotFound(f"cloud region {owner}_{region} is not registered")
    log.info("cloud region %s_%s unregistered", owner, region)


def _credentials_of(registration: Registration) -> client.Credentials:
    fields = registration.fields
    return client.Credentials(
        auth_url=client.keystone_v3_url(fields["identity_url"]),
        username=fields["username"],
        password=registration.password,
        project_name=fields["default_tenant"],
        project_id=None,
        domain=fields["cloud_domain"],
        verify=client.verify_option(fields["ssl_insecure"], fields["ssl_cacert"]),
        region_name=fields["openstack_region_id"] or None,
    )


def parse_registration(owner: str, region: str, body: Any) -> Registration:
    """Validate A&AI's cloud-region JSON; BadRequest naming the first problem."""
    if not isinstance(body, dict):
        raise BadRequest("registration body must be a JSON object (an A&AI cloud-region)")
    _check_same(body, "cloud-owner", owner)
    _check_same(body, "cloud-region-id", region)
    cloud_type = check_handled(_text(body, "cloud-type", "the cloud-region").lower())
    esr = _esr_info(body)
    extra = extra_info(body.get("cloud-extra-info"))
    events = _events_config(extra.get("multicloud-events"))
    fields = {
        "cloud_type": cloud_type,
        "cloud_region_version": str(body.get("cloud-region-version") or ""),
        "identity_url": _url(esr, "service-url"),
        "username": _text(esr, "user-name", "esr-system-info"),
        "default_tenant": _text(esr, "default-tenant", "esr-system-info"),
        "cloud_domain": str(esr.get("cloud-domain") or "Default"),
        "ssl_insecure": _flag(esr, "ssl-insecure"),
        "ssl_cacert": _cacert(esr.get("ssl-cacert")),
        "openstack_region_id": str(extra.get("openstack-region-id") or ""),
        "notification_topics": events["topics"],
        "notification_pool": events["pool"],
    }
    return Registration(
        fields=fields,
        password=_text(esr, "password", "esr-system-info"),
        transport_url=events["transport_url"],
        attributes=public_attributes(body),
    )


def _check_same(body: dict, key: str, expected: str) -> None:
    given = body.get(key)
    if given is not None and given != expected:
        raise BadRequest(f"{key} {given!r} in the body does not match {expected!r} in the path")


def _text(container: dict, key: str, where: str) -> str:
    value = container.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{where} needs a non-empty string {key!r}")
    return value.strip()


def _url(container: dict, key: str) -> str:
    value = _text(container, key, "esr-system-info")
    if not value.startswith(("http://", "https://")):
        raise BadRequest(f"esr-system-info {key!r} must be an http(s) URL, not {value!r}")
    return value


def _flag(container: dict, key: str) -> bool:
    value = container.get(key, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise BadRequest(f"esr-system-info {key!r} must be true or false")


#: Largest ``ssl-cacert`` accepted (a bundle of a few dozen certificates).
MAX_CACERT_BYTES = 64 * 1024


def _cacert(value: Any) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value.encode()) > MAX_CACERT_BYTES:
        raise BadRequest(
            "esr-system-info 'ssl-cacert' must be PEM certificates "
            f"of at most {MAX_CACERT_BYTES} bytes"
        )
    try:
        x509.load_pem_x509_certificates(value.encode())
    except ValueError:
        raise BadRequest("esr-system-info 'ssl-cacert' must be a PEM certificate") from None
    return value


def _esr_info(body: dict) -> dict:
    infos = (body.get("esr-system-info-list") or {}).get("esr-system-info")
    if not isinstance(infos, list) or not infos or not isinstance(infos[0], dict):
        raise BadRequest("esr-system-info-list.esr-system-info must hold the cloud's access info")
    return infos[0]


def extra_info(value: Any) -> dict:
    """``cloud-extra-info`` (an object, or its JSON text) as a dict; 400 for anything else."""
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise BadRequest("cloud-extra-info must be a JSON object (or its JSON text)") from None
    if not isinstance(value, dict):
        raise BadRequest("cloud-extra-info must be a JSON object (or its JSON text)")
    return value


def _events_config(value: Any) -> dict[str, Any]:
    """``cloud-extra-info.multicloud-events``: where this region's Nova notifies."""
    if value is None:
        return {"transport_url": "", "topics": [], "pool": ""}
    if not isinstance(value, dict):
        raise BadRequest("cloud-extra-info.multicloud-events must be an object")
    url = value.get("transport-url", "")
    if not isinstance(url, str):
        raise BadRequest("multicloud-events.transport-url must be a string")
    if url:
        try:
            check_transport_url(url)
        except ValueError as exc:
            raise BadRequest(f"multicloud-events.transport-url {exc}") from None
    topics = value.get("topics", [])
    if not isinstance(topics, list) or not all(isinstance(t, str) and t for t in topics):
        raise BadRequest("multicloud-events.topics must be a list of topic names")
    pool = value.get("pool", "")
    if not isinstance(pool, str):
        raise BadRequest("multicloud-events.pool must be a string")
    interval = value.get("reconcile-interval", 0)
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < 0:
        raise BadRequest("multicloud-events.reconcile-interval must be 0 or more seconds")
    return {"transport_url": url, "topics": topics, "pool": pool}


_SECRET_KEYS = ("password", "transport-url")


def public_attributes(body: dict) -> dict:
    """The registration body with every secret removed (deep)."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in _SECRET_KEYS}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    cleaned = clean(body)
    if isinstance(cleaned.get("cloud-extra-info"), str):
        cleaned["cloud-extra-info"] = clean(extra_info(cleaned["cloud-extra-info"]))
    return cleaned


def describe(record: CloudRegion) -> dict[str, Any]:
    """GET .../registry: the region as registered (no secrets) and what discovery found."""
    status, error = discovery.job_state(record)
    return {
        "vimId": record.vim_id,
        "cloud-owner": record.cloud_owner,
        "cloud-region-id": record.cloud_region_id,
        "cloud-type": record.cloud_type,
        "cloud-region-version": record.cloud_region_version,
        "openstack-region-id": record.openstack_region_id,
        "esr-system-info": {
            "service-url": record.identity_url,
            "user-name": record.username,
            "default-tenant": record.default_tenant,
            "cloud-domain": record.cloud_domain,
            "ssl-insecure": record.ssl_insecure,
            "ssl-cacert": bool(record.ssl_cacert),
        },
        "registry": {
            "status": status,
            "error": error,
            "registered_at": record.created_at.isoformat(),
            "updated_at": record.updated_at.isoformat(),
            "discovered_at": record.discovered_at.isoformat() if record.discovered_at else None,
        },
        "discovered": record.discovered,
    }
