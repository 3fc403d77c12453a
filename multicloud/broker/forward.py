"""Forwarding a request to an external plugin, streamed both ways."""

from __future__ import annotations

import logging

import requests

from multicloud import metrics, transaction
from multicloud.conf import Plugin, get_settings
from multicloud.exceptions import GatewayTimeout, UpstreamError
from multicloud.http import Request, Response
from multicloud.openstack.client import http_session
from multicloud.proxy.relay import REQUEST_DROP, RESPONSE_DROP, relay, upload

log = logging.getLogger(__name__)


def target_url(plugin: Plugin, request: Request) -> str:
    """``/api/{namespace}/v1/rest`` → ``{plugin.url}/v1/rest`` (only the prefix changes)."""
    prefix = f"/api/{request.route.namespace}/"
    return f"{plugin.url}/{request.path[len(prefix) :]}"


def forward_to(plugin: Plugin, request: Request, relative: str, body: bytes) -> Response:
    """Send ``body`` to ``{plugin.url}/{relative}`` with the caller's headers."""
    return _send(plugin, request, f"{plugin.url}/{relative}", body)


def forward(plugin: Plugin, request: Request, body: bytes | None = None) -> Response:
    """Send ``request`` to ``plugin`` and stream its answer back unchanged."""
    return _send(plugin, request, target_url(plugin, request), body)


def _send(plugin: Plugin, request: Request, url: str, body: bytes | None) -> Response:
    headers = transaction.add_outgoing(
        {k: v for k, v in request.headers.items() if k not in REQUEST_DROP}
    )
    # NOTE: the answer is relayed still encoded, so ask only for what the caller accepts.
    headers["accept-encoding"] = request.headers.get("accept-encoding", "identity")
    data = (
        body
        if body is not None
        else upload(request.stream, request.content_length, request.chunked)
    )
    try:
        # NOTE: the worker's pooled session: plugin connections are kept alive too.
        with metrics.upstream_call("plugin") as call:
            upstream = http_session().request(
                request.method,
                url,
                params=request.query,
                headers=headers,
                data=data,
                stream=True,
                allow_redirects=False,
                timeout=get_settings().cloud_timeout,
            )
            call.status = upstream.status_code
    except requests.Timeout:
        raise GatewayTimeout(f"plugin for {plugin.cloud_type} did not answer in time") from None
    except requests.ConnectionError:
        raise UpstreamError(f"cannot reach the plugin for {plugin.cloud_type}") from None
    return _answer(upstream)


def _answer(upstream: requests.Response) -> Response:
    headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in RESPONSE_DROP]
    length = upstream.headers.get("content-length")
    if length is not None and upstream.headers.get("content-encoding") is None:
        headers.append(("Content-Length", length))
    return Response(
        status=upstream.status_code,
        headers=headers,
        stream=relay(upstream),
        content_type=None,
    )
