"""HTTP handlers of the typed API (thin: parse and validate, call the service, shape)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from multicloud.http import Request, Response, json_response
from multicloud.resources import compute, network, schemas, service, volumes
from multicloud.vims.service import region_fields, region_of


def _scope(request: Request) -> service.Scope:
    return service.connect(region_of(request), request.params["tenantid"])


def _page(request: Request) -> service.Page:
    return service.page(
        request.query_one("limit"), request.query_one("marker"), request.query_one("name")
    )


def _created(request: Request, answer: dict[str, Any], created: bool, status: int) -> Response:
    """200 ``returnCode: 0`` for an existing resource, else ``status`` and ``returnCode: 1``."""
    if not created:
        return json_response({**answer, "returnCode": 0})
    location = [("Location", f"{request.path.rstrip('/')}/{answer['id']}")]
    return json_response({**answer, "returnCode": 1}, status=status, headers=location)


def _no_content() -> Response:
    return Response(status=204, content_type=None)


Service = Callable[..., Any]


def collection(lister: Service, creator: Service, schema: dict, status: int) -> dict[str, Any]:
    """GET (list) and POST (create or find) handlers of one resource collection."""

    def list_them(request: Request) -> Response:
        return json_response(lister(_scope(request), _page(request)))

    def create(request: Request) -> Response:
        # NOTE: an unknown region is 404 before the body is looked at.
        record = region_of(request)
        body = schemas.validate(request.json_object(), schema)
        answer, created = creator(service.connect(record, request.params["tenantid"]), body)
        return _created(request, answer, created, status)

    return {"GET": list_them, "POST": create}


def item(getter: Service, deleter: Service, key: str) -> dict[str, Any]:
    """GET and DELETE handlers of one resource (``key`` names the path parameter)."""

    def get(request: Request) -> Response:
        return json_response(getter(_scope(request), request.params[key]))

    def delete(request: Request) -> Response:
        deleter(_scope(request), request.params[key])
        return _no_content()

    return {"GET": get, "DELETE": delete}


def _kind(kind: str, fn: Service) -> Service:
    return lambda scope, *args: fn(scope, kind, *args)


FLAVORS = collection(
    compute.list_flavors, compute.create_flavor, schemas.FLAVOR_REQUEST, status=201
)
FLAVOR = item(compute.get_flavor, compute.delete_flavor, "flavorid")
SERVERS = collection(
    compute.list_servers, compute.create_server, schemas.SERVER_REQUEST, status=202
)
SERVER = item(compute.get_server, compute.delete_server, "serverid")
VOLUMES = collection(
    volumes.list_volumes, volumes.create_volume, schemas.VOLUME_REQUEST, status=202
)
VOLUME = item(volumes.get_volume, volumes.delete_volume, "volumeid")
NETWORK_KINDS = {
    kind: (
        collection(
            _kind(kind, network.listing),
            _kind(kind, network.create),
            getattr(schemas, f"{kind.upper()}_REQUEST"),
            status=201,
        ),
        item(_kind(kind, network.get), _kind(kind, network.delete), f"{kind}id"),
    )
    for kind in ("network", "subnet", "port")
}


def server_action(request: Request) -> Response:
    """POST .../servers/{serverid}/action: one action, 202 with no body."""
    record = region_of(request)
    body = schemas.validate(request.json(), schemas.SERVER_ACTION)
    scope = service.connect(record, request.params["tenantid"])
    compute.server_action(scope, request.params["serverid"], body)
    return Response(status=202, content_type=None)


def list_hosts(request: Request) -> Response:
    return json_response(compute.list_hosts(_scope(request)))


def get_host(request: Request) -> Response:
    return json_response(compute.get_host(_scope(request), request.params["hostname"]))


def limits(request: Request) -> Response:
    return json_response(compute.limits(_scope(request)))


def extensions(request: Request) -> Response:
    """GET .../extensions: the region's API extensions (none beyond the typed API)."""
    return json_response({"extensions": [], **region_fields(region_of(request))})
