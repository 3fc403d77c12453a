"""The one error model of the service.

Every error a handler or service raises is a :class:`MulticloudError` subclass
that carries its HTTP status in ``code``. Each web framework maps them to a
response in exactly one place (``multicloud.api.django_views`` and
``pecan_app.app``) through :func:`error_body`, so both answer the same JSON::

    {"error": "<message>", "code": 404, ...extra}

Anything that is not a MulticloudError is a bug: it becomes a 500 with a
generic message and is logged with its traceback; no traceback leaves the process.
"""

from __future__ import annotations

from typing import Any


class MulticloudError(Exception):
    """Base class: an error with an HTTP status and a message safe to show."""

    code = 500
    message = "internal server error"

    def __init__(self, message: str | None = None, **extra: Any):
        self.message = message or self.message
        self.extra = extra
        super().__init__(self.message)

    def headers(self) -> list[tuple[str, str]]:
        """Extra response headers this error implies (e.g. ``Allow``)."""
        return []


class BadRequest(MulticloudError):
    code = 400
    message = "bad request"


class Unauthorized(MulticloudError):
    code = 401
    message = "authentication required"


class Forbidden(MulticloudError):
    code = 403
    message = "forbidden"


class NotFound(MulticloudError):
    code = 404
    message = "not found"


class MethodNotAllowed(MulticloudError):
    code = 405
    message = "method not allowed"

    def __init__(self, method: str, allowed: list[str]):
        super().__init__(f"method {method} is not allowed here", allowed=list(allowed))

    def headers(self) -> list[tuple[str, str]]:
        return [("Allow", ", ".join(self.extra["allowed"]))]


class Conflict(MulticloudError):
    code = 409
    message = "conflict"


class PayloadTooLarge(MulticloudError):
    code = 413
    message = "request body too large"


class UnsupportedMediaType(MulticloudError):
    code = 415
    message = "unsupported media type"


class RangeNotSatisfiable(MulticloudError):
    code = 416
    message = "requested range not satisfiable"

    def __init__(self, size: int, message: str | None = None):
        super().__init__(message or f"the range is outside the {size} bytes of the content")
        self.size = size

    def headers(self) -> list[tuple[str, str]]:
        return [("Content-Range", f"bytes */{self.size}")]


class InsufficientStorage(MulticloudError):
    code = 507
    message = "not enough free space to store the request"


class UpstreamUnreachable(MulticloudError):
    """A cloud service cannot be reached where the API contract says 500 (images)."""

    code = 500
    message = "the cloud service cannot be reached"


class UpstreamError(MulticloudError):
    """The cloud (or another upstream) answered with an error we pass on."""

    code = 502
    message = "upstream service error"


class ServiceUnavailable(MulticloudError):
    code = 503
    message = "service unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    """The database refused or lost the connection (down, restarting, cut): a retry may work."""

    message = "the database is unavailable; try again later"


class GatewayTimeout(MulticloudError):
    code = 504
    message = "upstream service timed out"


def error_body(exc: MulticloudError) -> dict[str, Any]:
    """The JSON body both frameworks send for ``exc``."""
    return {"error": exc.message, "code": exc.code, **exc.extra}


def internal_error() -> MulticloudError:
    """What an unexpected exception turns into on the wire."""
    return MulticloudError()
