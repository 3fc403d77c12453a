"""Bodies and headers between the caller and the cloud: streamed, filtered, rewritten.

Request bodies go upstream as chunk iterators (Content-Length kept when known);
answers come back as chunk iterators, except JSON ones (bounded), which are
read whole so that the upstream URLs in them can point at the proxy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import urljoin

from multicloud.exceptions import UpstreamError
from multicloud.openstack import client
from multicloud.proxy.catalog import Rewriter

#: Chunk size for streamed answers (request bodies: ``client.BODY_CHUNK``).
CHUNK = 256 * 1024
#: Largest JSON answer read whole to rewrite its URLs; bigger ones stream unchanged.
MAX_REWRITE_BYTES = 16 * 1024 * 1024
#: Request headers never forwarded upstream (hop-by-hop, or recomputed).
REQUEST_DROP = frozenset(
    {
        "host",
        "connection",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "accept-encoding",
        "expect",
    }
)
#: Response headers never passed back (hop-by-hop, or set by our own server).
RESPONSE_DROP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "date",
        "server",
    }
)


#: Request headers a cloud may get from a caller (L2 of the security audit): these,
#: and any ``X-*`` or ``OpenStack-*`` one but the forwarding ones. Cookies and
#: Authorization (this service's own credentials) never leave.
REQUEST_ALLOW = frozenset(
    {
        "accept",
        "accept-language",
        "content-type",
        "content-encoding",
        "content-md5",
        "content-range",
        "range",
        "if-match",
        "if-none-match",
        "if-modified-since",
        "if-unmodified-since",
        "user-agent",
    }
)
#: Response headers a caller may get from a cloud: these, and ``X-*``/``OpenStack-*``.
#: Set-Cookie and CORS headers never come back under this service's origin.
RESPONSE_ALLOW = frozenset(
    {
        "content-type",
        "content-encoding",
        "content-md5",
        "content-range",
        "content-disposition",
        "content-location",
        "accept-ranges",
        "etag",
        "last-modified",
        "location",
        "retry-after",
        "vary",
        "cache-control",
        "expires",
        "allow",
        "www-authenticate",
    }
)
_NEVER = frozenset({"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip"})


def _relayed(name: str, allowed: frozenset[str]) -> bool:
    lower = name.lower()
    if lower in _NEVER:
        return False
    return lower in allowed or lower.startswith(("x-", "openstack-"))


@dataclass
class Answer:
    """What goes back to the caller: JSON ``data``, or a byte ``stream``."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    data: Any = None
    stream: Iterable[bytes] | None = None
    content_type: str | None = None


def request_headers(headers: dict[str, str]) -> dict[str, str]:
    sent = {
        name: value
        for name, value in headers.items()
        if name not in REQUEST_DROP and _relayed(name, REQUEST_ALLOW)
    }
    # NOTE: JSON answers are rewritten, so they must come unencoded.
    sent["accept-encoding"] = "identity"
    if "x-auth-token" in sent and "x-subject-token" not in sent:
        sent["x-subject-token"] = sent["x-auth-token"]
    return sent


def upload(stream: BinaryIO | None, length: int | None, chunked: bool) -> Iterable[bytes] | None:
    """The request body as chunks, never read whole (None when there is none)."""
    if stream is None or length == 0 or (length is None and not chunked):
        return None
    return client.streamed_body(stream, length)


# --------------------------------------------------------------------------- answers


def _is_json(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


def response_headers(reply: Any, rewriter: Rewriter) -> list[tuple[str, str]]:
    headers = []
    for name, value in reply.headers.items():
        lower = name.lower()
        if lower in RESPONSE_DROP or not _relayed(lower, RESPONSE_ALLOW):
            continue
        if lower in ("location", "content-location"):
            # NOTE: a relative Location is relative to the upstream URL, not to ours.
            value = rewriter.url(urljoin(reply.url or "", value))
        elif lower == "www-authenticate":
            value = rewriter.text(value)
        headers.append((name, value))
    return headers


def answer(reply: Any, rewriter: Rewriter, method: str, region: str | None, what: str) -> Answer:
    """The caller's answer to ``reply``: streamed, or (JSON) rewritten for ``region``."""
    content_type = reply.headers.get("Content-Type", "")
    length = reply.headers.get("Content-Length")
    if method != "HEAD" and _is_json(content_type):
        if length is None or (length.isdigit() and int(length) <= MAX_REWRITE_BYTES):
            head = _read_upto(reply, MAX_REWRITE_BYTES)
            if len(head) <= MAX_REWRITE_BYTES:
                return _rewritten(reply, head, rewriter, region)
            return _streamed(reply, rewriter, length, _chain(head, reply))
    if reply.status_code >= 400 and method != "HEAD" and not _is_json(content_type):
        return error_answer(reply, what, rewriter)
    if method == "HEAD" or reply.status_code in (204, 304):
        reply.close()
        return _streamed(reply, rewriter, length, None)
    return _streamed(reply, rewriter, length, relay(reply))


def _streamed(reply: Any, rewriter: Rewriter, length: str | None, body: Any) -> Answer:
    headers = response_headers(reply, rewriter)
    if reply.status_code in (204, 304):
        # NOTE: no body, so no Content-Type either (Nova sends one on 204).
        headers = [h for h in headers if h[0].lower() != "content-type"]
    elif length is not None:
        headers.append(("Content-Length", length))
    return Answer(status=reply.status_code, headers=headers, stream=body)


def _read_upto(reply: Any, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the (decoded) answer."""
    parts, size = [], 0
    for chunk in reply.iter_content(CHUNK):
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(parts)


def _chain(head: bytes, reply: Any) -> Iterator[bytes]:
    try:
        yield head
        yield from reply.iter_content(CHUNK)
    finally:
        reply.close()


def _rewritten(reply: Any, raw: bytes, rewriter: Rewriter, region: str | None) -> Answer:
    reply.close()
    if not raw.strip():
        return _streamed(reply, rewriter, str(len(raw)), None)
    headers = [h for h in response_headers(reply, rewriter) if h[0].lower() != "content-encoding"]
    if not rewriter.touches(raw):
        # NOTE: nothing in it points at the cloud: the bytes go back as they came,
        # unparsed (``raw`` is decoded, hence no Content-Encoding).
        headers.append(("Content-Length", str(len(raw))))
        return Answer(status=reply.status_code, headers=headers, stream=[raw])
    try:
        data = json.loads(raw)
    except ValueError:
        return _streamed(reply, rewriter, str(len(raw)), [raw])
    return Answer(
        status=reply.status_code,
        headers=headers,
        data=rewriter.json(data, region),
    )


def relay(reply: Any) -> Iterator[bytes]:
    """The upstream body as it came (still encoded), closing the reply at the end."""
    try:
        yield from reply.raw.stream(CHUNK, decode_content=False)
    finally:
        reply.close()


def json_of(reply: Any) -> dict[str, Any]:
    try:
        data = reply.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def error_answer(reply: Any, what: str, rewriter: Rewriter) -> Answer:
    """An upstream error with a JSON body: its own when it is JSON, else ours around its text."""
    raw = next(reply.iter_content(64 * 1024), b"")
    reply.close()
    headers = [
        (name, rewriter.text(value))
        for name, value in reply.headers.items()
        if name.lower() in ("x-openstack-request-id", "www-authenticate", "retry-after")
    ]
    try:
        data = json.loads(raw)
    except ValueError:
        text = raw.decode(errors="replace").strip()
        data = {"error": f"{what}: {text or 'HTTP ' + str(reply.status_code)}"}
        data["code"] = reply.status_code
    return Answer(
        status=reply.status_code, headers=headers, data=data, content_type="application/json"
    )


def upstream_failure(reply: Any, what: str) -> Exception:
    return UpstreamError(f"{what} answered {reply.status_code}", upstream_status=reply.status_code)
