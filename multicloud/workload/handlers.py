"""HTTP handlers of infra_workload (thin: region, ``Project`` header, body; the service answers)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from multicloud.conf import get_settings
from multicloud.http import Request, Response, json_response
from multicloud.routing import region_prefix
from multicloud.vims.service import region_of
from multicloud.workload import service

Handler = Callable[[Request], Response]


def failing_as(status: str) -> Callable[[Handler], Handler]:
    """Every error of the handler answers with the workload envelope and ``status``."""

    def wrap(handler: Handler) -> Handler:
        @wraps(handler)
        def serve(request: Request) -> Response:
            with service.failing(status, request.params.get("workloadid", "")):
                return handler(request)

        return serve

    return wrap


def _project(request: Request) -> str | None:
    return (request.headers.get("project") or "").strip() or None


@failing_as("CREATE_FAILED")
def create(request: Request) -> Response:
    """POST .../infra_workload: create the stack (201 ``CREATE_IN_PROGRESS``)."""
    record = region_of(request)
    proxy = f"{get_settings().public_url or request.base_url}{region_prefix(request)}"
    answer = service.create(record, _project(request), request.json_object(), proxy)
    return json_response(answer, status=201)


@failing_as("GET_FAILED")
def lookup(request: Request) -> Response:
    """GET .../infra_workload?name=|id=: the stacks of that name or id."""
    name, stack_id = request.query_one("name"), request.query_one("id")
    return json_response(service.lookup(region_of(request), _project(request), name, stack_id))


@failing_as("GET_FAILED")
def get(request: Request) -> Response:
    """GET .../infra_workload/{id or name}: the stack (and its heatbridge)."""
    key = request.params["workloadid"]
    return json_response(service.get(region_of(request), _project(request), key))


@failing_as("UPDATE_FAILED")
def heatbridge(request: Request) -> Response:
    """POST .../infra_workload/{id}: heatbridge into A&AI (202 ``UPDATE_IN_PROGRESS``)."""
    record = region_of(request)
    key = request.params["workloadid"]
    body = request.json(required=False)
    return json_response(service.start_heatbridge(record, _project(request), key, body), 202)


@failing_as("DELETE_FAILED")
def delete(request: Request) -> Response:
    """DELETE .../infra_workload/{id}: A&AI cleaned, the stack deleted (204)."""
    service.delete(region_of(request), _project(request), request.params["workloadid"])
    return Response(status=204, content_type=None)


COLLECTION = {"GET": lookup, "POST": create}
ITEM = {"GET": get, "POST": heatbridge, "DELETE": delete}
