"""HTTP handlers: registry, unregistry, tenants."""

from __future__ import annotations

from multicloud.http import Request, Response, json_response
from multicloud.vims import registry, service, tenants


def register(request: Request) -> Response:
    """POST .../registry: register (local: check and store; aai: read A&AI), discover (202)."""
    body = registry.register(request)
    return json_response(body, status=202, headers=[("Location", request.path)])


def registry_status(request: Request) -> Response:
    """GET .../registry: the registration and the state of its discovery."""
    return json_response(registry.status(request))


def unregister(request: Request) -> Response:
    """DELETE .../{vimid} or .../{owner}/{region}: forget the region (204)."""
    registry.unregister(request)
    return Response(status=204, content_type=None)


def list_tenants(request: Request) -> Response:
    """GET .../tenants[?name=...]: the region's projects."""
    record = service.region_of(request)
    found = tenants.list_projects(record, request.query_all("name"))
    return json_response({**service.region_fields(record), "tenants": found})
