"""The Django/DRF adapter: one APIView over the shared router.

Django's URLconf has one pattern; the route is found by the same
:class:`~multicloud.routing.Router` the Pecan side uses (one matcher, indexed by
path segment, instead of Django trying a regular expression per route).
This module only converts: a Django request into the neutral one, and a
neutral :class:`~multicloud.http.Response` (answers and errors alike, rendered
by :mod:`multicloud.http`) into a Django response.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpResponse, StreamingHttpResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from multicloud.conf import get_settings
from multicloud.exceptions import (
    BadRequest,
    MulticloudError,
    NotFound,
    internal_error,
)
from multicloud.http import (
    Response,
    body_for,
    error_response,
    is_chunked,
    request_from_environ,
)
from multicloud.observe import ROUTE_KEY
from multicloud.routing import Router, serve

log = logging.getLogger(__name__)


class _NoNegotiation(BaseContentNegotiation):
    """Every answer is JSON (or the handler's own stream); skip Accept parsing."""

    def select_parser(self, request, parsers):
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class RouterView(APIView):
    """Serves every route of the table: the router picks one, :func:`serve` runs it."""

    router: Router
    authentication_classes = ()
    permission_classes = ()
    throttle_classes = ()
    parser_classes = ()
    renderer_classes = (JSONRenderer,)
    content_negotiation_class = _NoNegotiation

    @property
    def default_response_headers(self) -> dict[str, str]:
        # NOTE: DRF would add Allow and Vary to every answer; the Pecan side
        # does not, and both must send the same headers.
        return {}

    def serve(self, request, **_: str):
        django_request = request._request
        method, path = django_request.method, django_request.path_info
        try:
            route, params = self.router.match(method, path)
        except MulticloudError as exc:
            return to_django(error_response(exc), method)
        django_request.META[ROUTE_KEY] = route.name
        answer = serve(route, to_neutral(django_request, params))
        return to_django(answer, method)


def view_for(router: Router):
    """The DRF view serving every route of ``router``.

    It takes every method some route serves (OPTIONS too, which DRF would otherwise
    answer itself); a request with another one reaches :func:`exception_handler`.
    """
    methods = sorted({m.lower() for r in router.routes for m in r.allowed} | {"options"})
    attrs: dict[str, Any] = {m: RouterView.serve for m in methods}
    attrs.update(router=router, http_method_names=methods)
    view: Any = type("RouterView", (RouterView,), attrs)
    return view.as_view()


def to_neutral(request, params: dict[str, str]):
    meta = request.META
    stream = _chunked_input(meta) if is_chunked(meta) else request
    neutral = request_from_environ(meta, params, stream)
    neutral.path = request.path_info
    return neutral


def _chunked_input(meta):
    """The de-chunked body of a chunked request.

    NOTE: uWSGI's HTTP sockets hand ``wsgi.input`` over without de-chunking it
    (reads return nothing); its ``chunked_read`` API does the de-chunking.
    """
    try:
        import uwsgi
    except ImportError:
        return meta["wsgi.input"]
    return _UwsgiChunkedInput(uwsgi, get_settings().request_timeout)


class _UwsgiChunkedInput:
    """A file-like ``read(size)`` over ``uwsgi.chunked_read()``."""

    def __init__(self, uwsgi_module, timeout: int = 60):
        self._uwsgi = uwsgi_module
        self._timeout = timeout
        self._pending = b""
        self._done = False

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._pending) < size):
            chunk = self._uwsgi.chunked_read(self._timeout)
            if not chunk:
                self._done = True
                break
            self._pending += chunk
            if size >= 0:
                break
        if size < 0 or size >= len(self._pending):
            data, self._pending = self._pending, b""
        else:
            data, self._pending = self._pending[:size], self._pending[size:]
        return data


def to_django(response: Response, method: str) -> HttpResponse:
    body = body_for(response, method)
    if response.stream is not None and method != "HEAD":
        answer = StreamingHttpResponse(body, status=response.status)
    else:
        answer = HttpResponse(b"".join(body), status=response.status)
    del answer["Content-Type"]
    for name, value in response.all_headers():
        answer[name] = value
    return answer


def exception_handler(exc: Exception, context: dict) -> HttpResponse:
    """DRF's EXCEPTION_HANDLER: what DRF itself raises before a view runs (405)."""
    request = context.get("request")
    method = request.method if request is not None else "GET"
    return to_django(error_response(_as_multicloud_error(exc, context)), method)


def _as_multicloud_error(exc: Exception, context: dict) -> Exception:
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        # NOTE: a method no route serves: the router says 405 (with Allow) or 404.
        request, view = context["request"], context["view"]
        try:
            view.router.match(request.method, request.path_info)
        except MulticloudError as refused:
            return refused
    if isinstance(exc, Http404):
        return NotFound()
    if isinstance(exc, drf_exceptions.APIException):
        error = MulticloudError(str(exc.detail))
        error.code = exc.status_code
        return error
    return exc


def not_found(request, exception=None) -> HttpResponse:
    """handler404: unknown paths get the same JSON error as everywhere else."""
    error = NotFound(f"no such resource: {request.path_info}")
    return to_django(error_response(error), request.method)


def bad_request(request, exception=None) -> HttpResponse:
    """handler400 (e.g. a Host header not in MULTICLOUD_ALLOWED_HOSTS)."""
    return to_django(error_response(BadRequest("bad request (check the Host header)")), "GET")


def server_error(request) -> HttpResponse:
    """handler500: an error outside any view."""
    return to_django(error_response(internal_error()), request.method)
