"""Route objects and the matcher both web frameworks share.

A route pattern is a path with ``{name}`` placeholders. A placeholder matches
one path segment, except ``{rest}`` which matches the remainder of the path
(slashes included). Patterns accept an optional trailing slash.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from multicloud import auth
from multicloud.exceptions import MethodNotAllowed, MulticloudError, NotFound
from multicloud.http import Request, Response, error_response

Handler = Callable[[Request], Response]
#: A route's handler: one for all its methods, or one per method.
Handlers = Handler | Mapping[str, Handler]

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
#: Characters a single path segment may hold (RFC 3986 unreserved + a few).
SEGMENT = r"[0-9A-Za-z_.~:@%+-]+"
REST = r".*"
#: Placeholders that name a cloud region.
REGION_PARAMS = ("vimid", "region")
#: The APIs served, each with its own Swagger document: (namespace, version) → title.
APIS: dict[tuple[str, str], str] = {
    ("multicloud", "v0"): "Multicloud broker API",
    ("multicloud", "v1"): "Multicloud broker API (v1)",
    ("multicloud-vio", "v0"): "Multicloud VIO/OpenStack plugin API",
    ("multicloud-vio", "v1"): "Multicloud VIO/OpenStack plugin API (v1)",
}


def swagger_url(namespace: str, version: str) -> str:
    """Where the Swagger document of an API is served."""
    return f"/api/{namespace}/{version}/swagger.json"


@dataclass(frozen=True)
class Doc:
    """What the Swagger document says of one method of a route, beyond its path."""

    status: int = 200
    request: dict[str, Any] | None = None
    answer: dict[str, Any] | None = None
    query: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    """One entry of the route table."""

    name: str
    methods: tuple[str, ...]
    pattern: str
    handler: Handlers = field(compare=False)
    summary: str = ""
    status: int = 200
    #: ``multicloud`` (the broker) or ``multicloud-vio`` (the VIO/OpenStack plugin).
    namespace: str = "multicloud"
    #: ``v0`` or ``v1``.
    version: str = "v0"
    #: The route's name without its form tag (``registry`` for ``registry_vio_v1``).
    resource: str = ""
    #: Optional Swagger detail per method (multicloud/api/swagger.py renders it).
    docs: Mapping[str, Doc] | None = field(default=None, compare=False)

    @property
    def base_path(self) -> str:
        """``/api/{namespace}/{version}/``: where the Swagger document of this route lives."""
        return f"/api/{self.namespace}/{self.version}/"

    @cached_property
    def regex(self) -> str:
        """The anchored regular expression for the path, without the leading slash."""
        parts = []
        position = 0
        for match in _PLACEHOLDER.finditer(self.pattern):
            parts.append(re.escape(self.pattern[position : match.start()]))
            name = match.group(1)
            parts.append(f"(?P<{name}>{REST if name == 'rest' else SEGMENT})")
            position = match.end()
        parts.append(re.escape(self.pattern[position:]))
        body = "".join(parts).lstrip("/")
        return f"^{body}/?$" if not body.endswith(f"{REST})") else f"^{body}$"

    @cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.regex)

    @cached_property
    def allowed(self) -> tuple[str, ...]:
        """Methods served, HEAD implied by GET."""
        extra = ("HEAD",) if "GET" in self.methods and "HEAD" not in self.methods else ()
        return self.methods + extra

    def handler_for(self, method: str) -> Handler:
        """The handler of ``method`` (HEAD is served by GET's)."""
        if not isinstance(self.handler, Mapping):
            return self.handler
        return self.handler["GET" if method == "HEAD" else method]

    @cached_property
    def params(self) -> tuple[str, ...]:
        return tuple(_PLACEHOLDER.findall(self.pattern))

    def method_error(
        self, method: str, path: str, params: Mapping[str, str] | None = None
    ) -> MulticloudError:
        """The error for ``method`` on a path of this route: 405 with ``Allow``, or 404.

        NOTE: a path ending in a region id (``.../v0/{vimid}``) is more often a
        mistyped global path (``/api/multicloud/v0/vim_typo``) than a region, so
        a method the region route does not serve is 404 there, never 405; so is
        any path whose ``{vimid}`` is not ``{owner}_{region}`` (no region is meant).
        """
        if self.params and self.params[-1] in REGION_PARAMS and self.pattern.endswith("}"):
            return NotFound(f"no such resource: {path}")
        if "_" not in (params or {}).get("vimid", "_"):
            return NotFound(f"no such resource: {path}")
        return MethodNotAllowed(method, list(self.allowed))


def region_prefix(request: Request) -> str:
    """The path of the region the request is under: ``/api/{ns}/v0/{vimid}`` or ``.../v1/o/r``."""
    route, params = request.route, request.params
    where = f"{params['owner']}/{params['region']}" if "owner" in params else params["vimid"]
    return f"/api/{route.namespace}/{route.version}/{where}"


def serve(route: Route, request: Request) -> Response:
    """Call the route's handler; any exception becomes the one JSON error answer."""
    request.route = route
    try:
        auth.authorize(request, route)
        return route.handler_for(request.method)(request)
    except Exception as exc:  # noqa: BLE001 - every failure is answered (and logged) once
        return error_response(exc, route.name)


class _Node:
    """One path segment of the route index: literal children, a placeholder child, routes."""

    __slots__ = ("literal", "wildcard", "ends", "rests")

    def __init__(self) -> None:
        self.literal: dict[str, _Node] = {}
        self.wildcard: _Node | None = None
        #: table positions of the routes whose pattern ends at this segment
        self.ends: list[int] = []
        #: table positions of the routes whose ``{rest}`` follows this segment
        self.rests: list[int] = []


class Router:
    """First-match dispatch over a route table (the order is the precedence).

    The table is also indexed by path segment (a tree of literal and placeholder
    segments), so a path is only tried against the few routes whose literal
    segments it has, still in table order; the regular expressions decide.
    """

    def __init__(self, routes: Sequence[Route]):
        self.routes = tuple(routes)
        # NOTE: a static path is looked up directly only when no earlier route
        # would also match it, so the shortcut never changes precedence.
        self._exact = {
            r.pattern: r
            for i, r in enumerate(self.routes)
            if not r.params and self._first_match(r.pattern, self.routes[:i]) is None
        }
        self._root = _Node()
        #: routes whose pattern the index cannot place (a placeholder inside a segment)
        self._always: list[int] = []
        for position, route in enumerate(self.routes):
            self._index(position, route)

    def _index(self, position: int, route: Route) -> None:
        node = self._root
        segments = route.pattern.strip("/").split("/")
        for i, segment in enumerate(segments):
            if segment == "{rest}" and i == len(segments) - 1:
                node.rests.append(position)
                return
            if "{" in segment or "}" in segment:
                if not _PLACEHOLDER.fullmatch(segment) or segment == "{rest}":
                    self._always.append(position)
                    return
                node.wildcard = node.wildcard or _Node()
                node = node.wildcard
            else:
                node = node.literal.setdefault(segment, _Node())
        node.ends.append(position)

    def candidates(self, path: str) -> list[int]:
        """Table positions of the routes that may match ``path``, in table order."""
        segments = path.lstrip("/").split("/")
        found = list(self._always)
        self._walk(self._root, segments, 0, found)
        return sorted(found)

    def _walk(self, node: _Node, segments: list[str], i: int, found: list[int]) -> None:
        left = len(segments) - i
        if left >= 1:
            found.extend(node.rests)
        # NOTE: a pattern accepts one trailing slash (a last, empty segment).
        if left == 0 or (left == 1 and not segments[i]):
            found.extend(node.ends)
        if left == 0:
            return
        child = node.literal.get(segments[i])
        if child is not None:
            self._walk(child, segments, i + 1, found)
        if node.wildcard is not None and segments[i]:
            self._walk(node.wildcard, segments, i + 1, found)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route and path params for a request; NotFound or MethodNotAllowed."""
        route, params = self._find(path)
        if method not in route.allowed:
            raise route.method_error(method, path, params)
        return route, params

    def _find(self, path: str) -> tuple[Route, dict[str, str]]:
        exact = self._exact.get(path)
        if exact is not None:
            return exact, {}
        stripped = path.lstrip("/")
        for position in self.candidates(path):
            match = self.routes[position].compiled.match(stripped)
            if match is not None:
                return self.routes[position], match.groupdict()
        raise NotFound(f"no such resource: {path}")

    @staticmethod
    def _first_match(path: str, routes: Sequence[Route]) -> Route | None:
        stripped = path.lstrip("/")
        for route in routes:
            if route.compiled.match(stripped):
                return route
        return None
