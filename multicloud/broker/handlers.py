"""HTTP handlers of the broker's own endpoints."""

from __future__ import annotations

from functools import cache

from multicloud.broker import service
from multicloud.http import Request, Response, constant


@cache
def _vim_types_response() -> Response:
    return constant(service.vim_types())


def vim_types(request: Request) -> Response:
    """GET .../vim_types: the cloud types and versions this service supports."""
    return _vim_types_response()
