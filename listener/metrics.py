"""Prometheus metrics of ``run_listener``, served on its own port (``--metrics-port``).

Notifications received, stored, dropped (by reason) and events published, failed
and dead-lettered (by topic) are counted where they happen; the outbox depth and
the age of its oldest pending event are read from the database at each scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import REGISTRY, Counter, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

RECEIVED = Counter(
    "multicloud_listener_notifications_received_total", "Nova notifications received"
)
STORED = Counter(
    "multicloud_listener_notifications_stored_total", "Notifications stored as outbox events"
)
DROPPED = Counter(
    "multicloud_listener_notifications_dropped_total",
    "Notifications acknowledged without storing, by reason (ignored, other_format, "
    "unsubscribed, duplicate, parked)",
    ["reason"],
)
REQUEUED = Counter(
    "multicloud_listener_notifications_requeued_total",
    "Notifications sent back to the broker (the database could not take them)",
)
PUBLISHED = Counter(
    "multicloud_listener_events_published_total", "Events published to Message Router", ["topic"]
)
FAILED = Counter(
    "multicloud_listener_events_publish_failed_total",
    "Event publishes that failed and will be retried",
    ["topic"],
)
DEAD = Counter("multicloud_listener_events_dead_lettered_total", "Events dead-lettered", ["topic"])

#: Consumer counter names (listener/consumer.py) that mean "acknowledged, not stored".
DROP_REASONS = ("ignored", "other_format", "unsubscribed", "duplicate", "parked")


def count_notification(name: str, n: int = 1) -> None:
    """Mirror one of the consumer's counters (received, stored, a drop reason, requeued)."""
    if name == "received":
        RECEIVED.inc(n)
    elif name == "stored":
        STORED.inc(n)
    elif name == "requeued":
        REQUEUED.inc(n)
    elif name in DROP_REASONS:
        DROPPED.labels(name).inc(n)


def _mirrored() -> dict[str, Counter]:
    from multicloud.metrics import UPSTREAM

    return {"published": PUBLISHED, "failed": FAILED, "dead": DEAD, "upstream": UPSTREAM}


class Increments:
    """What the publisher's process counted since the last :meth:`take` (its events
    published, failed and dead-lettered, its upstream requests), for the listener's
    process to add to its own counters (:func:`add_increments`): one metrics port shows
    both processes."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def take(self) -> list[list]:
        found = []
        for name, counter in _mirrored().items():
            for metric in counter.collect():
                for sample in metric.samples:
                    if not sample.name.endswith("_total"):
                        continue
                    key = (name, tuple(sorted(sample.labels.items())))
                    delta = sample.value - self._last.get(key, 0.0)
                    if delta:
                        self._last[key] = sample.value
                        found.append([name, sample.labels, delta])
        return found


def add_increments(increments: list) -> None:
    """Add what :meth:`Increments.take` found in the publisher's process."""
    counters = _mirrored()
    for name, labels, delta in increments:
        counter = counters.get(name)
        if counter is not None and isinstance(labels, dict) and delta > 0:
            (counter.labels(**labels) if labels else counter).inc(delta)


class OutboxCollector(Collector):
    """Pending outbox events and the age of the oldest, read when scraped."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "multicloud_listener_outbox_depth",
            "Outbox deliveries (event and topic) not yet published",
        )
        age = GaugeMetricFamily(
            "multicloud_listener_outbox_oldest_age_seconds",
            "Age of the oldest event not yet published (0 when none)",
        )
        try:
            pending, oldest = _outbox_state()
        except Exception as exc:  # NOTE: a scrape must answer even with the database down.
            log.warning("listener metrics: cannot read the outbox: %s", exc)
            return
        depth.add_metric([], pending)
        age.add_metric([], (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0)
        yield depth
        yield age


def _outbox_state() -> tuple[int, datetime | None]:
    from django.db import connection
    from django.db.models import Min

    from multicloud.events.models import Delivery

    try:
        pending = Delivery.objects.filter(status=Delivery.Status.PENDING)
        oldest = pending.aggregate(oldest=Min("created_at"))["oldest"]
        return pending.count(), oldest
    finally:
        connection.close()


def serve(port: int, host: str = "0.0.0.0") -> None:
    """Serve ``/metrics`` on ``host:port`` from a daemon thread."""
    REGISTRY.register(OutboxCollector())
    start_http_server(port, addr=host)
    log.info("run_listener: metrics on http://%s:%d/metrics", host, port)
