"""Liveness of what the service depends on."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection

log = logging.getLogger(__name__)


def database_status() -> dict[str, object]:
    """Whether the database answers a trivial query, and which engine it is."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        log.warning("health: database unreachable: %s", exc)
        return {"reachable": False, "vendor": connection.vendor}
    return {"reachable": True, "vendor": connection.vendor}
