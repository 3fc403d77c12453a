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


def _named(handler: Any, name: str) -> Any:
    handler.__name__ = handler.__qualname__ = name
    return handler


def collection(
    lister: Service, creator: Service, schema: dict, status: int, kind: str
) -> dict[str, Any]:
    """GET (list) and POST (create or find) handlers of one resource collection."""

    def list_them(request: Request) -> Response:
        return json_response(lister(_scope(request), _page(request)))

    def create(request: Request) -> Response:
        # NOTE: an unknown region is 404 before the body is looked at.
        record = region_of(request)
        body = schemas.validate(request.json_object(), schema)
        answer, created = creator(service.connect(record, request.params["tenantid"]), body)
        return _created(request, answer, created, status)

    return {"GET": _named(list_them, f"list_{kind}s"), "POST": _named(create, f"create_{kind}")}


def item(getter: Service, deleter: Service, kind: str) -> dict[str, Any]:
    """GET and DELETE handlers of one resource (``key`` names the path parameter)."""

    def get(request: Request) -> Response:
        return json_response(getter(_scope(request), request.params[f"{kind}id"]))

    def delete(request: Request) -> Response:
        deleter(_scope(request), request.params[f"{kind}id"])
        return _no_content()

    return {"GET": _named(get, f"get_{kind}"), "DELETE": _named(delete, f"delete_{kind}")}


def _kind(kind: str, fn: Service) -> Service:
    return lambda scope, *args: fn(scope, kind, *args)


FLAVORS = collection(
    compute.list_flavors, compute.create_flavor, schemas.FLAVOR_REQUEST, 201, "flavor"
)
FLAVOR = item(compute.get_flavor, compute.delete_flavor, "flavor")
SERVERS = collection(
    compute.list_servers, compute.create_server, schemas.SERVER_REQUEST, 202, "server"
)
SERVER = item(compute.get_server, compute.delete_server, "server")
VOLUMES = collection(
    volumes.list_volumes, volumes.create_volume, schemas.VOLUME_REQUEST, 202, "volume"
)
VOLUME = item(volumes.get_volume, volumes.delete_volume, "volume")
NETWORK_KINDS = {
    kind: (
        collection(
            _kind(kind, network.listing),
            _kind(kind, network.create),
            getattr(schemas, f"{kind.upper()}_REQUEST"),
            201,
            kind,
        ),
        item(_kind(kind, network.get), _kind(kind, network.delete), kind),
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
