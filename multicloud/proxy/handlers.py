"""HTTP handlers of the OpenStack passthrough (``.../{vimid}/identity|nova|glance|...``)."""

from __future__ import annotations

from multicloud.conf import get_settings
from multicloud.http import Request, Response
from multicloud.proxy import relay, service
from multicloud.routing import Handler, region_prefix
from multicloud.vims import service as vims


def _target(request: Request) -> service.Target:
    base = get_settings().public_url or request.base_url
    return service.Target(region=vims.region_of(request), prefix=base + region_prefix(request))


def _response(answer: relay.Answer) -> Response:
    return Response(
        status=answer.status,
        data=answer.data,
        headers=answer.headers,
        stream=answer.stream,
        content_type=answer.content_type,
    )


def issue_token(request: Request) -> Response:
    """POST .../identity/v3/auth/tokens: the region's Keystone token, catalog rewritten (201)."""
    target = _target(request)
    body = request.read_body(limit=service.MAX_AUTH_BODY)
    return _response(service.issue_token(target, body, request.query))


def token(request: Request) -> Response:
    """GET/HEAD/DELETE .../identity/v3/auth/tokens: validate or revoke (X-Subject-Token)."""
    answer = _pass(request, "identity", "v3/auth/tokens")
    if request.method == "DELETE" and answer.status < 300:
        service.forget_token(request.headers.get("x-subject-token", ""))
    return _response(answer)


def proxy(name: str) -> Handler:
    """The passthrough handler of one service (``{rest}`` is the path below it)."""

    def handle(request: Request) -> Response:
        return _response(_pass(request, name, request.params.get("rest", "")))

    handle.__name__ = f"proxy_{name}"
    handle.__doc__ = f"Any call to the region's {name} service, streamed both ways."
    return handle


def _pass(request: Request, name: str, rest: str) -> relay.Answer:
    target = _target(request)
    body = relay.upload(request.stream, request.content_length, request.chunked)
    headers = dict(request.headers.items())
    return service.passthrough(target, name, request.method, rest, request.query, headers, body)
