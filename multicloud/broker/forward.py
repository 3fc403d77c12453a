"""Forwarding a request to an external plugin, streamed both ways."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import requests

from multicloud.api.http import Request, Response
from multicloud.conf import Plugin, get_settings
from multicloud.exceptions import GatewayTimeout, UpstreamError

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
_API_PREFIX = re.compile(r"^/api/multicloud(?:-[a-z0-9]+)?/(v[01]/.*)$")


def target_url(plugin: Plugin, path: str) -> str:
    """``/api/multicloud[-x]/v1/rest`` → ``{plugin.url}/v1/rest`` (only the prefix changes)."""
    match = _API_PREFIX.match(path)
    if match is None:
        raise UpstreamError(f"cannot forward {path}: not an API path")
    return f"{plugin.url}/{match.group(1)}"


def _body(request: Request) -> Iterator[bytes] | None:
    if request.stream is None or request.content_length == 0:
        return None
    if request.content_length is None and "chunked" not in request.headers.get(
        "transfer-encoding", ""
    ):
        return None
    return iter(lambda: request.stream.read(CHUNK), b"")


def forward(plugin: Plugin, request: Request, body: bytes | None = None) -> Response:
    """Send ``request`` to ``plugin`` and stream its answer back unchanged."""
    url = target_url(plugin, request.path)
    headers = {k: v for k, v in request.headers.items() if k not in HOP_BY_HOP}
    if body is not None:
        headers["content-length"] = str(len(body))
    elif request.content_length is not None:
        headers["content-length"] = str(request.content_length)
    try:
        upstream = requests.request(
            request.method,
            url,
            params=request.query,
            headers=headers,
            data=body if body is not None else _body(request),
            stream=True,
            allow_redirects=False,
            timeout=get_settings().cloud_timeout,
        )
    except requests.Timeout:
        raise GatewayTimeout(f"plugin for {plugin.cloud_type} did not answer in time") from None
    except requests.ConnectionError as exc:
        raise UpstreamError(f"cannot reach the plugin for {plugin.cloud_type}: {exc}") from None
    return _answer(upstream)


def _answer(upstream: requests.Response) -> Response:
    headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP]
    length = upstream.headers.get("content-length")
    if length is not None and upstream.headers.get("content-encoding") is None:
        headers.append(("Content-Length", length))
    return Response(
        status=upstream.status_code,
        headers=headers,
        stream=_relay(upstream),
        content_type=None,
    )


def _relay(upstream: requests.Response) -> Iterator[bytes]:
    try:
        yield from upstream.raw.stream(CHUNK, decode_content=False)
    finally:
        upstream.close()
