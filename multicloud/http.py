"""Framework-neutral request and response.

Handlers receive a :class:`Request` and return a :class:`Response`; the Django
and Pecan adapters build the one and serve the other. Everything both adapters
need lives here once: the request built from a WSGI environ
(:func:`request_from_environ`), an exception turned into its answer with the one
logging policy (:func:`error_response`), and the bytes a method sends
(:func:`body_for`, HEAD included). Nothing here imports a web framework (only
Django's database error classes, to answer a database outage with 503).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import parse_qsl

from django.db import InterfaceError, OperationalError

from multicloud.exceptions import (
    BadRequest,
    DatabaseUnavailable,
    MulticloudError,
    PayloadTooLarge,
    UnsupportedMediaType,
    error_body,
    internal_error,
)

if TYPE_CHECKING:
    from multicloud.routing import Route

log = logging.getLogger("multicloud.http")

JSON_TYPE = "application/json"
#: Largest JSON request body a handler parses (streams have their own caps).
MAX_JSON_BYTES = 4 * 1024 * 1024


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only request headers."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()):
        self._items = {name.lower(): value for name, value in items}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def get(self, name: str, default: Any = None) -> Any:
        return self._items.get(name.lower(), default)


def headers_from_environ(environ: Mapping[str, Any]) -> Headers:
    """Rebuild HTTP header names from a WSGI environ."""
    items = [
        (key[5:].replace("_", "-"), value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    ]
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            items.append((key.replace("_", "-"), environ[key]))
    # NOTE: Eventlet keeps only the first of repeated headers in the environ; its
    # raw list shows a second Content-Length, which must not go unnoticed.
    lengths = [v for k, v in environ.get("headers_raw", ()) if k.lower() == "content-length"]
    if len(lengths) > 1:
        items.append(("CONTENT-LENGTH", ", ".join(lengths)))
    return Headers(items)


class Request:
    """One HTTP request as handlers see it.

    ``stream`` is the raw request body; read it with :meth:`read_body` or
    :meth:`json` (both capped), or iterate it for uploads.
    """

    __slots__ = (
        "method",
        "path",
        "params",
        "query",
        "headers",
        "stream",
        "_json",
        "base_url",
        "route",
        "identity",
    )

    #: The route being served (its name, namespace and API version); set by the router.
    route: Route

    def __init__(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        query_string: str,
        headers: Headers,
        stream: BinaryIO | None,
        base_url: str = "",
    ):
        self.method = method
        self.path = path
        self.params = dict(params)
        self.query = parse_qsl(query_string, keep_blank_values=True)
        self.headers = headers
        self.stream = stream
        self.base_url = base_url
        self._json: Any = _UNSET
        #: Who is calling (a ``multicloud.auth.Identity``), set by ``auth.authorize``.
        self.identity: Any = None

    @property
    def content_length(self) -> int | None:
        raw = self.headers.get("content-length")
        if raw is None or raw == "":
            return None
        try:
            return int(raw)
        except ValueError:
            raise BadRequest("Content-Length is not a number") from None

    @property
    def chunked(self) -> bool:
        """Whether the body comes chunked (no ``Content-Length`` to go by)."""
        return names_chunked(self.headers.get("transfer-encoding"))

    def query_one(self, name: str, default: str | None = None) -> str | None:
        """The last value of query parameter ``name``."""
        values = self.query_all(name)
        return values[-1] if values else default

    def query_all(self, name: str) -> list[str]:
        return [value for key, value in self.query if key == name]

    def read_body(self, limit: int = MAX_JSON_BYTES) -> bytes:
        """The whole body, refusing more than ``limit`` bytes with 413."""
        length = self.content_length
        if length is not None and length > limit:
            raise PayloadTooLarge(f"request body exceeds {limit} bytes", limit=limit)
        if self.stream is None:
            return b""
        data = self.stream.read(limit + 1 if length is None else length)
        if len(data) > limit:
            raise PayloadTooLarge(f"request body exceeds {limit} bytes", limit=limit)
        return data

    def json(self, required: bool = True) -> Any:
        """The body parsed as JSON; 400 when it is missing or malformed.

        A body of another media type is 415 (a browser's cross-site form or
        ``text/plain`` fetch cannot send ``application/json`` without CORS).
        """
        if self._json is _UNSET:
            self.parse_body(self.read_body(), required)
        return self._json

    def parse_body(self, raw: bytes, required: bool = True) -> Any:
        """``raw``, this request's body read by the caller, parsed as :meth:`json` parses it.

        Kept: a later :meth:`json` answers it without reading again.
        """
        if raw.strip() and not is_json_type(self.headers.get("content-type", "")):
            raise UnsupportedMediaType("the request body must be application/json")
        self._json = parse_json(raw, required)
        return self._json

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object; 400 for any other JSON value."""
        body = self.json()
        if not isinstance(body, dict):
            raise BadRequest("request body must be a JSON object")
        return body


_UNSET = object()


def is_json_type(content_type: str) -> bool:
    """``application/json`` or a ``+json`` type, parameters ignored."""
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == JSON_TYPE or (kind.startswith("application/") and kind.endswith("+json"))


def parse_json(raw: bytes, required: bool = True) -> Any:
    """The one "JSON body or 400" rule: ``raw`` parsed, BadRequest when malformed or empty."""
    if not raw.strip():
        if required:
            raise BadRequest("request body is required (JSON)")
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise BadRequest("request body is not valid JSON: nested too deeply") from None


def render_json(data: Any) -> bytes:
    """The one JSON encoding both frameworks send."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class Response:
    """A handler's answer: a JSON-able ``data`` or a byte iterator ``stream``."""

    status: int = 200
    data: Any = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: Iterable[bytes] | None = None
    content_type: str | None = JSON_TYPE
    #: Pre-rendered body, for answers that never change (see :func:`constant`).
    body: bytes | None = None

    def rendered(self) -> bytes:
        """The body bytes of a non-streaming response."""
        if self.body is not None:
            return self.body
        if self.data is None:
            return b""
        return render_json(self.data)

    def all_headers(self) -> list[tuple[str, str]]:
        """Headers to send: Content-Type and (for fixed bodies) Content-Length first.

        A header whose name or value holds CR, LF or NUL (a cloud's value can end
        up in one) is dropped: in pecan mode it would split the response.
        """
        headers = [(n, v) for n, v in self.headers if safe_header(n, v)]
        names = {name.lower() for name, _ in headers}
        body_len = None if self.stream is not None else len(self.rendered())
        if self.content_type and "content-type" not in names and (body_len or self.stream):
            headers.insert(0, ("Content-Type", self.content_type))
        if body_len is not None and "content-length" not in names:
            headers.append(("Content-Length", str(body_len)))
        return headers


_UNSAFE_HEADER = re.compile(r"[\r\n\x00]")


def safe_header(name: str, value: str) -> bool:
    """Whether a header can be sent as it is (no CR/LF/NUL); logs the ones that cannot."""
    if _UNSAFE_HEADER.search(name) or _UNSAFE_HEADER.search(str(value)):
        log.warning("dropped response header %r: it holds CR, LF or NUL", name[:64])
        return False
    return True


def json_response(data: Any, status: int = 200, headers: list | None = None) -> Response:
    return Response(status=status, data=data, headers=list(headers or []))


def constant(data: Any, status: int = 200) -> Response:
    """A response whose JSON is rendered once; handlers may return it repeatedly."""
    return Response(status=status, data=data, body=render_json(data))


def request_from_environ(
    environ: Mapping[str, Any], params: Mapping[str, str], stream: Any = None
) -> Request:
    """The neutral request of a WSGI environ (``stream`` defaults to ``wsgi.input``)."""
    return Request(
        method=environ["REQUEST_METHOD"],
        path=environ.get("PATH_INFO", "/"),
        params=params,
        query_string=environ.get("QUERY_STRING", ""),
        headers=headers_from_environ(environ),
        stream=environ.get("wsgi.input") if stream is None else stream,
        base_url=base_url_from_environ(environ),
    )


def error_response(exc: BaseException, route_name: str = "") -> Response:
    """The answer to ``exc``: its JSON error body, ``Content-Length`` and its own headers.

    The one logging policy: client errors (4xx) are not logged above DEBUG; server
    errors (5xx) are logged with their traceback and the route's name; a database
    outage (:data:`DATABASE_DOWN`) answers 503; any other exception that is not a
    :class:`MulticloudError` is a bug and answers a generic 500.
    """
    error = _as_error(exc, route_name)
    body = render_json(error_body(error))
    return Response(status=error.code, body=body, headers=list(error.headers()))


#: What the database driver raises when the server is down, restarting, refuses connections
#: or cut one (PostgreSQL), or is locked (SQLite): transient, answered 503, not a bug's 500.
DATABASE_DOWN = (OperationalError, InterfaceError)


def _as_error(exc: BaseException, route_name: str) -> MulticloudError:
    where = route_name or "(no route)"
    if isinstance(exc, DATABASE_DOWN):
        # NOTE: no traceback: during an outage every request fails this same way.
        log.error("%s failed: the database is unavailable: %s", where, exc)
        return DatabaseUnavailable()
    if not isinstance(exc, MulticloudError):
        log.error("unexpected error while serving %s", where, exc_info=exc)
        return internal_error()
    if exc.code >= 500:
        log.error("%s failed: %s", where, exc.message, exc_info=exc)
    else:
        log.debug("%s answered %s: %s", where, exc.code, exc.message)
    return exc


def body_for(response: Response, method: str) -> Iterable[bytes]:
    """The bytes to send for ``method``: none for HEAD (a stream is closed unread)."""
    if method == "HEAD":
        close = getattr(response.stream, "close", None)
        if close is not None:
            close()
        return [b""]
    if response.stream is not None:
        return response.stream
    return [response.rendered()]


def base_url_from_environ(environ: Mapping[str, Any]) -> str:
    """``scheme://host[:port]`` the client used to reach us (for self links)."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if not host:
        host = f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
    return f"{scheme}://{host}"


def is_chunked(environ: Mapping[str, Any]) -> bool:
    """Whether a WSGI request's body comes chunked."""
    return names_chunked(environ.get("HTTP_TRANSFER_ENCODING"))


def names_chunked(transfer_encoding: str | None) -> bool:
    """The one chunked-body rule: ``Transfer-Encoding`` names ``chunked``."""
    return "chunked" in (transfer_encoding or "").lower()
