"""Per-region dispatch: serve in-process, or forward to the region's external plugin.

Every per-region route of the table is wrapped by :func:`regional`. With no
plugin configured this is a no-op. Otherwise the region's type/version (from
the registry, or from the body of a registration) picks the plugin, and the
request is forwarded whole; the plugin's answer comes back unchanged. In
``aai`` registry mode the type/version come from A&AI (:mod:`multicloud.vims.aai_resolve`).
"""

from __future__ import annotations

import functools
import logging

from multicloud.broker import service
from multicloud.broker.forward import forward
from multicloud.conf import Plugin, get_settings
from multicloud.exceptions import BadRequest, NotFound
from multicloud.http import Request, Response
from multicloud.routing import Handler
from multicloud.vims import aai_resolve
from multicloud.vims import service as vims
from multicloud.vims.cache import find_region
from multicloud.vims.models import CloudRegion

log = logging.getLogger(__name__)


def regional(handler: Handler) -> Handler:
    """Wrap a per-region handler with the broker's dispatch."""

    @functools.wraps(handler)
    def dispatch(request: Request) -> Response:
        if get_settings().aai.enabled:
            return _dispatch_by_aai(request, handler)
        if not get_settings().plugins:
            return handler(request)
        owner, region = vims.region_key(request.params)
        record = find_region(owner, region)
        if record is None and _is_registration(request):
            return _register_external(owner, region, request, handler)
        plugin = record and service.plugin_for(record.cloud_type, record.cloud_region_version)
        if plugin is None or record is None:
            return handler(request)
        answer = forward(plugin, request)
        if request.method == "DELETE" and _is_region_path(request) and _ok_or_gone(answer):
            record.delete()
        return answer

    return dispatch


def _dispatch_by_aai(request: Request, handler: Handler) -> Response:
    """``aai`` mode: A&AI says what the region is (cached); 404 unknown, 503 A&AI away."""
    owner, region = vims.region_key(request.params)
    registration = _is_registration(request)
    if registration and not get_settings().plugins:
        return handler(request)  # NOTE: the registry reads the region from A&AI itself.
    try:
        kind = aai_resolve.resolve(owner, region, fresh=registration)
    except NotFound:
        if request.method == "DELETE" and _is_region_path(request):
            # NOTE: ESR removed the region from A&AI first; what this service wrote
            # outside it (pservers) and its own record must still go.
            return handler(request)
        raise
    plugin = service.plugin_for(kind.cloud_type, kind.version)
    if plugin is None:
        return handler(request)
    answer = forward(plugin, request)
    if registration and 200 <= answer.status < 300:
        _remember(
            owner, region, {"cloud-type": kind.cloud_type, "cloud-region-version": kind.version}
        )
    if request.method == "DELETE" and _is_region_path(request) and _ok_or_gone(answer):
        CloudRegion.objects.filter(cloud_owner=owner, cloud_region_id=region).delete()
        aai_resolve.forget(owner, region)
    return answer


def _is_registration(request: Request) -> bool:
    return request.method == "POST" and request.route.resource == "registry"


def _is_region_path(request: Request) -> bool:
    return request.route.resource == "region"


def _ok_or_gone(answer: Response) -> bool:
    return 200 <= answer.status < 300 or answer.status == 404


def _register_external(owner: str, region: str, request: Request, handler: Handler) -> Response:
    raw = request.read_body()
    body = request.parse_body(raw)  # NOTE: kept, so the handler reuses it.
    plugin = _plugin_of_body(body)
    if plugin is None:
        return handler(request)
    answer = forward(plugin, request, body=raw)
    if 200 <= answer.status < 300:
        _remember(owner, region, body)
    return answer


def _plugin_of_body(body) -> Plugin | None:
    if not isinstance(body, dict):
        raise BadRequest("registration body must be a JSON object (an A&AI cloud-region)")
    cloud_type = str(body.get("cloud-type") or "").lower()
    return service.plugin_for(cloud_type, str(body.get("cloud-region-version") or ""))


def _remember(owner: str, region: str, body: dict) -> None:
    """Keep a routing record (no credentials: the plugin holds them)."""
    vims.check_owner(owner)
    CloudRegion.objects.update_or_create(
        cloud_owner=owner,
        cloud_region_id=region,
        defaults={
            "cloud_type": str(body["cloud-type"]).lower(),
            "cloud_region_version": str(body.get("cloud-region-version") or ""),
            "attributes": vims.public_attributes(body),
            "discovery_status": CloudRegion.Discovery.DONE,
            "discovery_error": "served by an external plugin",
        },
    )
    log.info("cloud region %s_%s registered with its external plugin", owner, region)


def not_here(request: Request) -> Response:
    """The catch-all under a region served in-process: nothing is there."""
    raise NotFound(f"no such resource: {request.path}")
