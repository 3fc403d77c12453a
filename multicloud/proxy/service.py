"""The OpenStack passthrough: tokens, per-token endpoint cache, streamed upstream calls.

A caller gets a token through ``.../identity/v3/auth/tokens``; the answer is
Keystone's, with the catalog pointing back at this service (see
:mod:`multicloud.proxy.catalog`). Later calls carry that token in
``X-Auth-Token``; the upstream endpoints are looked up in a cache keyed by
(region, token). A worker that has not seen the token asks the region's
Keystone to validate it (which also returns the catalog), so a token another
cloud issued is refused with 401, and no call is ever routed by region alone.
A token the region's Keystone refused is refused again without asking it for
``MULTICLOUD_AUTH_NEGATIVE_TTL`` seconds (a negative cache, per worker).

Bodies are streamed both ways (:mod:`multicloud.proxy.relay`); only JSON answers are read
whole, to rewrite the upstream URLs in them. Tokens are never logged.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from multicloud.auth.cache import TTLCache
from multicloud.conf import get_settings
from multicloud.exceptions import BadRequest, NotFound, Unauthorized
from multicloud.http import parse_json
from multicloud.openstack import client
from multicloud.proxy import relay
from multicloud.proxy.catalog import Endpoints, Rewriter, endpoints_from_catalog

#: Largest token request body.
MAX_AUTH_BODY = 64 * 1024
#: Cached endpoint maps per process, and the longest time one is trusted.
CACHE_SIZE = 4096
CACHE_TTL = 3600.0

_VERSION_PATH = re.compile(r"^(v[0-9]+(\.[0-9]+)?)?/?$")


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
#: (token digest, region) the region's Keystone refused; entries live NEGATIVE_TTL seconds.
_refused = TTLCache(ttl=3600.0, max_entries=CACHE_SIZE)


def clear_cache() -> None:
    """Forget every token (a cold worker)."""
    _cache.clear()
    _refused.clear()


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
    refused = f"the token is not valid for cloud region {target.region.vim_id}"
    key = (_digest(token), target.region.vim_id)
    if _refused.get(key) is not None:
        raise Unauthorized(refused)
    session = client.plain_session(target.verify)
    headers = {"X-Auth-Token": token, "X-Subject-Token": token, "Accept": "application/json"}
    what = f"the identity service of {target.region.vim_id}"
    reply = client.send(
        session, "GET", f"{target.keystone}/auth/tokens", headers=headers, stream=False, what=what
    )
    if reply.status_code in (401, 403, 404):
        ttl = get_settings().auth.negative_ttl
        if ttl > 0:
            _refused.put(key, True, time.monotonic() + ttl)
        raise Unauthorized(refused)
    if reply.status_code != 200:
        raise relay.upstream_failure(reply, what)
    return _remember(target, token, relay.json_of(reply).get("token") or {})


def _anonymous_endpoints(target: Target, service: str) -> Endpoints:
    """Endpoints from the region's own catalog, for unauthenticated version discovery only.

    Nothing of the region's credentials goes along: the call upstream carries no token.
    """
    if service == "identity":
        return endpoints_from_catalog([], None, None, target.identity_root)
    session = client.session_for(target.region)
    with client.translate_errors(f"the identity service of {target.region.vim_id}"):
        access = client.token_access(session)
    # NOTE: the project id only strips itself from project-scoped URLs (Cinder's
    # .../v3/{project_id}), so that the service root is the version list.
    return endpoints_from_catalog(
        access.service_catalog.catalog, access.project_id, target.region_name, target.identity_root
    )


# --------------------------------------------------------------------------- token issue


def issue_token(target: Target, body: bytes, query: list[tuple[str, str]]) -> relay.Answer:
    """POST the caller's auth body to the region's Keystone; 201 with the catalog rewritten."""
    auth = parse_json(body)
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
        return relay.error_answer(
            reply, what, Rewriter([(target.identity_root, "identity")], target.prefix)
        )
    value = reply.headers.get("X-Subject-Token", "")
    data = relay.json_of(reply)
    if isinstance(data.get("token"), dict):
        # NOTE: the VIO contract puts the subject token in the body too (ONAP's CSIT reads it).
        data["token"]["value"] = value
    endpoints = _remember(target, value, data.get("token") or {})
    rewriter = Rewriter(endpoints.aliases, target.prefix)
    return relay.Answer(
        status=201,
        headers=relay.response_headers(reply, rewriter),
        data=rewriter.json(data, target.region_name),
        content_type="application/json",
    )


def forget_token(token: str) -> None:
    _cache.forget(token)


# --------------------------------------------------------------------------- passthrough


def require_service(target: Target, name: str) -> None:
    """404 unless the region's catalog has a service served as ``{proxy}/{name}``."""
    if name not in _anonymous_endpoints(target, name).bases:
        raise NotFound(f"no such resource: {name}")


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
) -> relay.Answer:
    """Send one call to ``service`` of the target region; stream the answer back."""
    token = headers.get("x-auth-token")
    if token:
        endpoints = endpoints_for(target, token)
    elif method in ("GET", "HEAD") and is_version_path(rest):
        endpoints = _anonymous_endpoints(target, service)
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
        headers=relay.request_headers(headers),
        data=body,
        stream=True,
        what=what,
        service=service,
    )
    rewriter = Rewriter(endpoints.aliases, target.prefix)
    return relay.answer(reply, rewriter, method, target.region_name, what)


def _with_query(url: str, query: list[tuple[str, str]]) -> str:
    # NOTE: every pair is kept (repeated keys too) and percent-encoded (spaces as %20).
    return f"{url}?{urlencode(query, quote_via=quote)}" if query else url
