"""GET .../healthcheck."""

from __future__ import annotations

from multicloud.exceptions import ServiceUnavailable
from multicloud.health import service
from multicloud.http import Request, Response, json_response


def healthcheck(request: Request) -> Response:
    """200 when the database is reachable, 503 (JSON error body) when it is not."""
    database = service.database_status()
    if not database["reachable"]:
        raise ServiceUnavailable("database unreachable", status="unavailable", database=database)
    return json_response({"status": "ok", "database": database})
