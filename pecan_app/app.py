"""The Pecan app, built from :mod:`multicloud.api.routes`.

Pecan keeps its request/response objects, hooks and error flow; only the two
steps that locate and call a controller are replaced by the shared route
table. (Pecan's own object dispatch rebuilds an argspec namedtuple class on
every call, which cost most of a worker's CPU; see bench/REPORT.md.) Answers
and errors are rendered by :mod:`multicloud.http`; this module only converts.
"""

from __future__ import annotations

import os

import django
import webob
from pecan.core import PecanBase
from pecan.hooks import PecanHook

from multicloud import observe
from multicloud.http import (
    Response,
    body_for,
    error_response,
    request_from_environ,
)
from multicloud.routing import serve


class ErrorHook(PecanHook):
    """Errors raised before a handler runs (no such path, 405) get the one JSON answer."""

    priority = 1

    def on_error(self, state, exc: Exception) -> webob.Response:
        return to_webob(error_response(exc), state.request.method)


class DatabaseHook(PecanHook):
    """What Django's request signals do: drop stale database connections."""

    priority = 2

    def before(self, state) -> None:
        django.db.close_old_connections()

    def after(self, state) -> None:
        django.db.close_old_connections()


class MulticloudPecan(PecanBase):
    """A Pecan application dispatching through the shared router.

    Built on ``PecanBase``: handlers get the request explicitly, so Pecan's
    thread-local ``pecan.request`` (and its per-request bookkeeping) is not needed.
    """

    def __init__(self, router, close_connections: bool = True):
        # NOTE: tests run requests inside one database transaction, so (like
        # Django's test client) they must not close connections per request.
        hooks = [ErrorHook(), DatabaseHook()] if close_connections else [ErrorHook()]
        super().__init__(root=object(), hooks=hooks, guess_content_type_from_ext=False)
        self.router = router

    def __call__(self, environ, start_response):
        """Serve one request inside its ONAP ids, counted (multicloud/observe.py)."""
        observation = observe.begin_environ(environ)

        def start(status: str, headers: list, exc_info=None):
            route = environ.get(observe.ROUTE_KEY)
            method = environ["REQUEST_METHOD"]
            headers = headers + observation.finish(route, method, int(status[:3]))
            return start_response(status, headers, exc_info)

        try:
            return super().__call__(environ, start)
        finally:
            observation.close()

    def find_controller(self, state):
        self.handle_hooks(self.hooks, "before", state)
        req = state.request
        route, params = self.router.match(req.method, req.path_info)
        req.environ[observe.ROUTE_KEY] = route.name
        return route, (params,), {}

    def invoke_controller(self, route, args, kwargs, state) -> None:
        req = state.request
        answer = serve(route, request_from_environ(req.environ, args[0]))
        state.response = to_webob(answer, req.method)

    def _handle_empty_response_body(self, state) -> None:
        # NOTE: handlers choose their status; Pecan would turn an empty 200 into 204.
        return None


class VerbatimResponse(webob.Response):
    """Sends status and headers exactly as rendered (WebOb would make ``Location`` absolute)."""

    def __call__(self, environ, start_response):
        start_response(self.status, self.headerlist)
        return self.app_iter


def to_webob(response: Response, method: str) -> webob.Response:
    return VerbatimResponse(
        status=response.status,
        headerlist=response.all_headers(),
        app_iter=body_for(response, method),
    )


def make_app(close_connections: bool = True) -> MulticloudPecan:
    """Configure Django (ORM, settings) and build the Pecan WSGI app."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "multicloud.settings")
    django.setup()
    from multicloud.api.routes import ROUTER

    return MulticloudPecan(ROUTER, close_connections)
