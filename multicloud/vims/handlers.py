"""HTTP handlers: registry, unregistry, tenants."""

from __future__ import annotations

from multicloud.http import Request, Response, json_response
from multicloud.vims import service, tenants


def register(request: Request) -> Response:
    """POST .../registry: check the credentials, store, discover in the background (202)."""
    owner, region = service.region_key(request.params)
    record, created = service.register(owner, region, request.json())
    body = service.describe(record)
    return json_response(body, status=202, headers=[("Location", request.path)])


def registry_status(request: Request) -> Response:
    """GET .../registry: the registration and the state of its discovery."""
    return json_response(service.describe(service.region_of(request)))


def unregister(request: Request) -> Response:
    """DELETE .../{vimid} or .../{owner}/{region}: forget the region (204)."""
    service.unregister(*service.region_key(request.params))
    return Response(status=204, content_type=None)


def list_tenants(request: Request) -> Response:
    """GET .../tenants[?name=...]: the region's projects."""
    record = service.region_of(request)
    found = tenants.list_projects(record, request.query_all("name"))
    return json_response({**service.region_fields(record), "tenants": found})
