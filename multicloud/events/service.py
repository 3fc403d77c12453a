"""Stored VM events, read for pollers (``GET .../events``); the listener writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from multicloud.events.models import Event


def events_since(
    owner: str, region: str, kinds: list[str] | None, since: datetime | None, limit: int
) -> list[dict[str, Any]]:
    """Stored events of a region for pollers, oldest first, Nova time strictly after ``since``."""
    found = Event.objects.filter(cloud_owner=owner, cloud_region_id=region)
    if kinds:
        found = found.filter(kind__in=kinds)
    if since is not None:
        found = found.filter(emitted_at__gt=since)
    return [
        {
            **row.message,
            "delivery": {
                "status": row.status,
                "topics": row.topics,
                "dead_topics": row.dead_topics,
            },
        }
        for row in found.order_by("emitted_at", "id")[:limit]
    ]
