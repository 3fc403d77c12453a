"""Stored VM events: read for pollers (``GET .../events``), summarised from their per-topic
deliveries, and cancelled when a subscription goes; the listener writes them.

Framework-free (Django ORM only).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from multicloud.events.models import Delivery, Event, Sink, Status, destination

PENDING = Status.PENDING
#: Reason recorded on the deliveries of a deleted subscription.
UNSUBSCRIBED = "subscription deleted"


def events_since(
    owner: str, region: str, kinds: list[str] | None, since: datetime | None, limit: int
) -> list[dict[str, Any]]:
    """Stored events of a region for pollers, oldest first, Nova time strictly after ``since``."""
    found = Event.objects.filter(cloud_owner=owner, cloud_region_id=region)
    if kinds:
        found = found.filter(kind__in=kinds)
    if since is not None:
        found = found.filter(emitted_at__gt=since)
    rows = list(found.order_by("emitted_at", "id")[:limit])
    details = _delivery_details([row.id for row in rows])
    return [
        {
            **row.message,
            "delivery": {
                "status": row.status,
                "topics": row.topics,
                "dead_topics": row.dead_topics,
                **({"errors": details[row.id]} if details.get(row.id) else {}),
            },
        }
        for row in rows
    ]


def _delivery_details(event_ids: list[int]) -> dict[int, dict[str, str]]:
    """Per event, the last error of each topic not published yet (dead or retrying)."""
    details: dict[int, dict[str, str]] = {}
    found = Delivery.objects.filter(event_id__in=event_ids).exclude(last_error="")
    for event_id, sink, topic, error in found.exclude(status=Status.PUBLISHED).values_list(
        "event_id", "sink", "topic", "last_error"
    ):
        details.setdefault(event_id, {})[destination(sink, topic)] = error
    return details


def summarise(event_ids: Iterable[int]) -> None:
    """Bring the events' status, dead topics and errors in line with their deliveries."""
    ids = sorted(set(event_ids))
    if not ids:
        return
    marks = ", ".join(["%s"] * len(ids))
    delivery, event = Delivery._meta.db_table, Event._meta.db_table
    published = str(Status.PUBLISHED)
    # NOTE: plain SQL: this runs after every publish round, and building the ORM queries
    # cost more than running them.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT event_id FROM {delivery} "  # noqa: S608 (constant names)
            f"WHERE event_id IN ({marks}) AND status <> %s",
            [*ids, published],
        )
        mixed = {row[0] for row in cursor.fetchall()}
        done = [pk for pk in ids if pk not in mixed]
        if done:
            # NOTE: fast path: every delivery of these events is published.
            empty = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
            cursor.execute(
                f"UPDATE {event} SET status = %s, published_at = %s, "  # noqa: S608 (constant names)
                f"dead_topics = {empty}, last_error = '' "
                f"WHERE id IN ({', '.join(['%s'] * len(done))}) AND status <> %s",
                [
                    published,
                    connection.ops.adapt_datetimefield_value(timezone.now()),
                    "[]",
                    *done,
                    published,
                ],
            )
    if mixed:
        _summarise_mixed(mixed)


def _summarise_mixed(ids: set[int]) -> None:
    by_event: dict[int, list[tuple[str, str, str]]] = {}
    for event_id, sink, topic, status, error in Delivery.objects.filter(
        event_id__in=ids
    ).values_list("event_id", "sink", "topic", "status", "last_error"):
        by_event.setdefault(event_id, []).append((destination(sink, topic), status, error))
    events = list(Event.objects.filter(id__in=ids))
    now = timezone.now()
    for event in events:
        _summarise_one(event, by_event.get(event.id, []), now)
    Event.objects.bulk_update(events, ["status", "dead_topics", "last_error", "published_at"])


def _summarise_one(event: Event, deliveries: list[tuple[str, str, str]], now: datetime) -> None:
    dead = sorted(topic for topic, status, _ in deliveries if status == Status.DEAD)
    event.dead_topics = dead
    errors = [
        f"{topic}: {error}"
        for topic, status, error in deliveries
        if error and status != "published"
    ]
    event.last_error = "; ".join(errors)[:2000]
    if any(status == PENDING for _, status, _ in deliveries):
        event.status = Status.PENDING
    elif dead:
        event.status, event.published_at = Status.DEAD, None
    else:
        event.status, event.published_at = Status.PUBLISHED, event.published_at or now


def cancel(vim_id: str, topic: str | None, sink: str = Sink.MESSAGE_ROUTER) -> int:
    """Dead-letter the pending deliveries of a deleted subscription (all of the sink's topics
    when ``topic`` is None), so nothing retries them any more; returns how many."""
    found = Delivery.objects.filter(vim_id=vim_id, sink=sink, status=PENDING)
    if topic is not None:
        found = found.filter(topic=topic)
    with transaction.atomic():
        event_ids = set(found.values_list("event_id", flat=True))
        cancelled = found.update(
            status=Status.DEAD, last_error=UNSUBSCRIBED, claimed_by="", claimed_until=None
        )
        summarise(event_ids)
    return cancelled
