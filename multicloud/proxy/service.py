"""The OpenStack passthrough: tokens, per-token endpoint cache, streamed upstream calls.

A caller gets a token through ``.../identity/v3/auth/tokens``; the answer is
Keystone's, with the catalog pointing back at this service (see
:mod:`multicloud.proxy.catalog`). Later calls carry that token in
``X-Auth-Token``; the upstream endpoints are looked up in a cache keyed by
(region, token). A worker that has not seen the token asks the region's
Keystone to validate it (which also returns the catalog), so a token another
cloud issued is refused with 401, and no call is ever routed by region alone.

Bodies are streamed both ways in chunks; only JSON answers (bounded) are read
whole, to rewrite the upstream URLs in them. Tokens are never logged.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO
from urllib.parse import quote, urlencode, urljoin

from multicloud.exceptions import BadRequest, NotFound, Unauthorized, UpstreamError
from multicloud.openstack import client
from multicloud.proxy.catalog import Endpoints, Rewriter, endpoints_from_catalog

#: Chunk size for streamed bodies, both ways.
CHUNK = 256 * 1024
#: Largest JSON answer read whole to rewrite its URLs; bigger ones stream unchanged.
MAX_REWRITE_BYTES = 16 * 1024 * 1024
#: Largest token request body.
MAX_AUTH_BODY = 64 * 1024
#: Cached endpoint maps per process, and the longest time one is trusted.
CACHE_SIZE = 4096
CACHE_TTL = 3600.0

#: Request headers never forwarded upstream (hop-by-hop, or recomputed).
_REQUEST_DROP = frozenset(
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
_RESPONSE_DROP = frozenset(
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
_VERSION_PATH = re.compile(r"^(v[0-9]+(\.[0-9]+)?)?/?$")
_TOKEN_HEADERS = ("x-auth-token", "x-subject-token")


@dataclass
class Target:
    """Where a proxied call goes and how its URLs come back."""

    region: Any  # multicloud.vims.models.CloudRegion
    prefix: str  # this region's proxy URL as the caller used it (no trailing slash)

    @property
    def region_name(self) -> str | None:
        return self.region.openstack_region_id or None

    @property
    def verify(self) -> bool | str:
        return client.verify_option(self.region.ssl_insecure, self.region.ssl_cacert)

    @property
    def keystone(self) -> str:
        return client.keystone_v3_url(self.region.identity_url)

    @property
    def identity_root(self) -> str:
        return self.keystone[: -len("/v3")]


@dataclass
class Answer:
    """What goes back to the caller: JSON ``data``, or a byte ``stream``."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    data: Any = None
    stream: Iterable[bytes] | None = None
    content_type: str | None = None


# --------------------------------------------------------------------------- the token cache


class _EndpointCache:
    """A bounded LRU of (region, token) → :class:`Endpoints`, each with an expiry."""

    def __init__(self, size: int):
        self.size = size
        self.lock = threading.Lock()
        self.items: OrderedDict[tuple[str, str], tuple[float, Endpoints]] = OrderedDict()

    def get(self, vim_id: str, token: str) -> Endpoints | None:
        key = (_digest(token), vim_id)
        with self.lock:
            found = self.items.get(key)
            if found is None:
                return None
            if found[0] <= time.time():
                del self.items[key]
                return None
            self.items.move_to_end(key)
            return found[1]

    def put(self, vim_id: str, token: str, endpoints: Endpoints, expires: float) -> None:
        with self.lock:
            self.items[(_digest(token), vim_id)] = (expires, endpoints)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def forget(self, token: str) -> None:
        """Drop every entry of ``token`` (after it was revoked)."""
        digest = _digest(token)
        with self.lock:
            for key in [k for k in self.items if k[0] == digest]:
                del self.items[key]

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_cache = _EndpointCache(CACHE_SIZE)


def clear_cache() -> None:
    """Forget every token (a cold worker)."""
    _cache.clear()


def _expiry(token: dict[str, Any]) -> float:
    limit = time.time() + CACHE_TTL
    raw = token.get("expires_at")
    if not raw:
        return limit
    try:
        return min(limit, datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return limit


def _remember(target: Target, token_value: str, token: dict[str, Any]) -> Endpoints:
    endpoints = endpoints_from_catalog(
        token.get("catalog") or [],
        (token.get("project") or {}).get("id"),
        target.region_name,
        target.identity_root,
    )
    # NOTE: a token asked for with ?nocatalog says nothing of its services; the
    # first call with it recovers the catalog from Keystone instead.
    if "catalog" in token:
        _cache.put(target.region.vim_id, token_value, endpoints, _expiry(token))
    return endpoints


def endpoints_for(target: Target, token: str) -> Endpoints:
    """The endpoints ``token`` may reach in the target region; 401 if its Keystone says no."""
    found = _cache.get(target.region.vim_id, token)
    if found is not None:
        return found
    session = client.plain_session(target.verify)
    headers = {"X-Auth-Token": token, "X-Subject-Token": token, "Accept": "application/json"}
    what = f"the identity service of {target.region.vim_id}"
    reply = client.send(
        session, "GET", f"{target.keystone}/auth/tokens", headers=headers, stream=False, what=what
    )
    if reply.status_code in (401, 403, 404):
        raise Unauthorized(f"the token is not valid for cloud region {target.region.vim_id}")
    if reply.status_code != 200:
        raise _upstream_failure(reply, what)
    return _remember(target, token, _json_of(reply).get("token") or {})


def _anonymous_endpoints(target: Target) -> Endpoints:
    """Endpoints from the region's own catalog, for unauthenticated version discovery only."""
    session = client.session_for(target.region)
    with client.translate_errors(f"the identity service of {target.region.vim_id}"):
        access = session.auth.get_access(session)
    return endpoints_from_catalog(
        access.service_catalog.catalog, None, target.region_name, target.identity_root
    )


# --------------------------------------------------------------------------- token issue


def issue_token(target: Target, body: bytes, query: list[tuple[str, str]]) -> Answer:
    """POST the caller's auth body to the region's Keystone; 201 with the catalog rewritten."""
    try:
        auth = json.loads(body)
    except ValueError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    if not isinstance(auth, dict) or not isinstance(auth.get("auth"), dict):
        raise BadRequest('request body must be a Keystone v3 auth request: {"auth": {...}}')
    what = f"the identity service of {target.region.vim_id}"
    reply = client.send(
        client.plain_session(target.verify),
        "POST",
        _with_query(f"{target.keystone}/auth/tokens", query),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        data=body,
        stream=False,
        what=what,
    )
    if reply.status_code not in (200, 201):
        return _error_answer(
            reply, what, Rewriter([(target.identity_root, "identity")], target.prefix)
        )
    value = reply.headers.get("X-Subject-Token", "")
    data = _json_of(reply)
    endpoints = _remember(target, value, data.get("token") or {})
    rewriter = Rewriter(endpoints.aliases, target.prefix)
    return Answer(
        status=201,
        headers=_response_headers(reply, rewriter),
        data=rewriter.json(data, target.region_name),
        content_type="application/json",
    )


def forget_token(token: str) -> None:
    _cache.forget(token)


# --------------------------------------------------------------------------- passthrough


def is_version_path(rest: str) -> bool:
    """A service root or a version root (``""``, ``v3``, ``v2.1/``): public documents."""
    return bool(_VERSION_PATH.match(rest))


def passthrough(
    target: Target,
    service: str,
    method: str,
    rest: str,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    body: Iterable[bytes] | None,
) -> Answer:
    """Send one call to ``service`` of the target region; stream the answer back."""
    token = headers.get("x-auth-token")
    if token:
        endpoints = endpoints_for(target, token)
    elif method in ("GET", "HEAD") and is_version_path(rest):
        endpoints = _anonymous_endpoints(target)
    else:
        raise Unauthorized("X-Auth-Token is required (get one from .../identity/v3/auth/tokens)")
    base = endpoints.url(service, quote(rest, safe="/:@!$&'()*+,;=-._~"))
    if base is None:
        raise NotFound(f"cloud region {target.region.vim_id} has no {service} service")
    url = _with_query(base, query)
    what = f"the {service} service of {target.region.vim_id}"
    reply = client.send(
        client.plain_session(target.verify),
        method,
        url,
        headers=_request_headers(headers),
        data=body,
        stream=True,
        what=what,
    )
    return _answer(reply, Rewriter(endpoints.aliases, target.prefix), method, target, what)


def _with_query(url: str, query: list[tuple[str, str]]) -> str:
    # NOTE: every pair is kept (repeated keys too) and percent-encoded (spaces as %20).
    return f"{url}?{urlencode(query, quote_via=quote)}" if query else url


def _request_headers(headers: dict[str, str]) -> dict[str, str]:
    sent = {name: value for name, value in headers.items() if name not in _REQUEST_DROP}
    # NOTE: an encoded answer could not be rewritten, and is not worth it on loopback.
    sent["accept-encoding"] = "identity"
    if "x-auth-token" in sent and "x-subject-token" not in sent:
        sent["x-subject-token"] = sent["x-auth-token"]
    return sent


def upload(stream: BinaryIO | None, length: int | None, chunked: bool) -> Iterable[bytes] | None:
    """The request body as chunks, never read whole (None when there is none)."""
    if stream is None or length == 0 or (length is None and not chunked):
        return None
    if length is None:
        return iter(lambda: stream.read(CHUNK), b"")
    return _SizedUpload(stream, length)


class _SizedUpload:
    """A body of known length: ``requests`` sends Content-Length instead of chunks."""

    def __init__(self, stream: BinaryIO, length: int):
        self.stream = stream
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        left = self.length
        while left > 0:
            chunk = self.stream.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


# --------------------------------------------------------------------------- answers


def _is_json(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


def _response_headers(reply: Any, rewriter: Rewriter) -> list[tuple[str, str]]:
    headers = []
    for name, value in reply.headers.items():
        lower = name.lower()
        if lower in _RESPONSE_DROP:
            continue
        if lower in ("location", "content-location"):
            # NOTE: a relative Location is relative to the upstream URL, not to ours.
            value = rewriter.url(urljoin(reply.url or "", value))
        elif lower == "www-authenticate":
            value = rewriter.text(value)
        headers.append((name, value))
    return headers


def _answer(reply: Any, rewriter: Rewriter, method: str, target: Target, what: str) -> Answer:
    content_type = reply.headers.get("Content-Type", "")
    length = reply.headers.get("Content-Length")
    if method != "HEAD" and _is_json(content_type):
        if length is None or (length.isdigit() and int(length) <= MAX_REWRITE_BYTES):
            head = _read_upto(reply, MAX_REWRITE_BYTES)
            if len(head) <= MAX_REWRITE_BYTES:
                return _rewritten(reply, head, rewriter, target)
            return _streamed(reply, rewriter, length, _chain(head, reply))
    if reply.status_code >= 400 and method != "HEAD" and not _is_json(content_type):
        return _error_answer(reply, what, rewriter)
    if method == "HEAD" or reply.status_code in (204, 304):
        reply.close()
        return _streamed(reply, rewriter, length, None)
    return _streamed(reply, rewriter, length, _relay(reply))


def _streamed(reply: Any, rewriter: Rewriter, length: str | None, body: Any) -> Answer:
    headers = _response_headers(reply, rewriter)
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


def _rewritten(reply: Any, raw: bytes, rewriter: Rewriter, target: Target) -> Answer:
    reply.close()
    if not raw.strip():
        return _streamed(reply, rewriter, str(len(raw)), None)
    try:
        data = json.loads(raw)
    except ValueError:
        return _streamed(reply, rewriter, str(len(raw)), [raw])
    headers = [h for h in _response_headers(reply, rewriter) if h[0].lower() != "content-encoding"]
    return Answer(
        status=reply.status_code,
        headers=headers,
        data=rewriter.json(data, target.region_name),
    )


def _relay(reply: Any) -> Iterator[bytes]:
    try:
        yield from reply.raw.stream(CHUNK, decode_content=False)
    finally:
        reply.close()


def _json_of(reply: Any) -> dict[str, Any]:
    try:
        data = reply.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _error_answer(reply: Any, what: str, rewriter: Rewriter) -> Answer:
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


def _upstream_failure(reply: Any, what: str) -> Exception:
    return UpstreamError(f"{what} answered {reply.status_code}", upstream_status=reply.status_code)
