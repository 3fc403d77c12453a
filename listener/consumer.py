"""The notification endpoint: Nova notification -> filtered event -> outbox row -> ack.

Framework-free; no oslo.messaging import here (the endpoint is a plain object with
``info``/``error`` methods, which is all oslo.messaging needs), so tests call
:meth:`Endpoint.handle` directly.

Durable before ack: ``handle`` returns HANDLED only after the event row is committed
(or was already there: Nova redelivered it), or when the event is deliberately not kept
(not an instance event, the other Nova format, a kind/phase nobody subscribed to, a
malformed message). On a database error it sleeps a bounded, growing backoff and returns
REQUEUE, so the broker redelivers the notification later; a delivery is never held
for longer than that backoff (``MULTICLOUD_EVENTS_DB_RETRY_MAX``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, connection

from listener import outbox
from listener.metrics import count_notification
from listener.notifications import (
    Format,
    FormatPolicy,
    NovaEvent,
    Phase,
    classify,
    parse,
    request_id_of,
)
from listener.publisher import Counters
from multicloud import transaction
from multicloud.events.subscriptions import Router

log = logging.getLogger(__name__)

#: oslo.messaging's NotificationResult values (plain strings; no import needed here).
HANDLED = "handled"
REQUEUE = "requeue"


@dataclass(frozen=True)
class Filters:
    """What the listener keeps, besides subscriptions: one Nova format, some phases."""

    policy: FormatPolicy
    phases: frozenset[Phase]


class Endpoint:
    """oslo.messaging notification endpoint of one cloud region."""

    def __init__(
        self,
        owner: str,
        region: str,
        router: Router,
        filters: Filters,
        counters: Counters | None = None,
        db_retry_max: float = 5.0,
        on_stored: Callable[[], None] = lambda: None,
        sleep=time.sleep,
    ):
        self.owner = owner
        self.region = region
        self.router = router
        self.filters = filters
        self.counters = counters or Counters(mirror=count_notification)
        self.db_retry_max = db_retry_max
        self.on_stored = on_stored
        self.sleep = sleep
        self._failures = 0
        self._lock = threading.Lock()
        self._warned_format = False

    # oslo.messaging calls these by priority name; of ``ctxt`` (it carries the caller's
    # token) only the request ids are read.
    def info(
        self, ctxt: Any, publisher_id: str, event_type: str, payload: Any, metadata: dict
    ) -> str:
        return self.handle("INFO", publisher_id, event_type, payload, metadata, ctxt)

    def error(
        self, ctxt: Any, publisher_id: str, event_type: str, payload: Any, metadata: dict
    ) -> str:
        return self.handle("ERROR", publisher_id, event_type, payload, metadata, ctxt)

    def handle(
        self,
        priority: str,
        publisher_id: str,
        event_type: str,
        payload: Any,
        metadata: dict,
        ctxt: Any = None,
    ) -> str:
        """Process one notification; HANDLED (ack) or REQUEUE (redeliver later).

        Its log lines and its event carry the notification's request id
        (:func:`listener.notifications.request_id_of`).
        """
        ids = request_id_of(ctxt, metadata or {})
        with transaction.serving(transaction.from_headers({transaction.REQUEST_ID: ids}.get)):
            return self._handle(priority, publisher_id, event_type, payload, metadata, ids)

    def _handle(
        self,
        priority: str,
        publisher_id: str,
        event_type: str,
        payload: Any,
        metadata: dict,
        request_id: str,
    ) -> str:
        self.counters.add("received")
        classified = classify(event_type)
        if classified is None:
            self.counters.add("ignored")
            return HANDLED
        if not self.filters.policy.accepts(classified[0]):
            # NOTE: decided on the event type alone, before the (costly) payload mapping.
            self.counters.add("other_format")
            self._warn_format_once(classified[0])
            return HANDLED
        try:
            event = parse(priority, publisher_id, event_type, payload, metadata or {}, request_id)
        except (ValueError, TypeError, AttributeError) as exc:
            self.counters.add("malformed")
            log.warning(
                "listener %s: dropping malformed %s notification: %s", self.vim_id, event_type, exc
            )
            return HANDLED
        if event is None:
            self.counters.add("ignored")
            return HANDLED
        try:
            return self._keep(event)
        except DatabaseError as exc:
            return self._requeue(event, exc)
        except Exception as exc:
            # NOTE: a bug must not drop the event, nor spin on it: log, back off, requeue.
            log.exception(
                "listener %s: failed on %s %s", self.vim_id, event.event_type, event.message_id
            )
            return self._requeue(event, exc)

    @property
    def vim_id(self) -> str:
        return f"{self.owner}_{self.region}"

    def _keep(self, event: NovaEvent) -> str:
        self.counters.add("preferred_format")
        topics = self.router.topics(self.owner, self.region, event.kind.value)
        if event.phase not in self.filters.phases or not topics:
            self.counters.add("unsubscribed")
            return HANDLED
        stored = outbox.accept(event, self.owner, self.region, topics)
        self.counters.add("stored" if stored else "duplicate")
        with self._lock:
            self._failures = 0
        if stored:
            self.on_stored()
        return HANDLED

    def _requeue(self, event: NovaEvent, exc: Exception) -> str:
        with self._lock:
            self._failures += 1
            failures = self._failures
        delay = min(self.db_retry_max, 0.1 * 2 ** min(failures - 1, 10))
        log.warning(
            "listener %s: cannot store %s %s (%s); requeueing it after %.1fs",
            self.vim_id,
            event.event_type,
            event.message_id,
            exc,
            delay,
        )
        _drop_connection()
        self.counters.add("requeued")
        self.sleep(delay)
        return REQUEUE

    def _warn_format_once(self, fmt: Format) -> None:
        if self._warned_format or self.counters["preferred_format"]:
            return
        self._warned_format = True
        log.warning(
            "listener %s: receiving %s notifications but events come only from %s ones "
            "(MULTICLOUD_EVENTS_PREFER_FORMAT); if this cloud's Nova has "
            "notification_format=%s, no event will be published",
            self.vim_id,
            fmt.value.lower(),
            self.filters.policy.prefer.value.lower(),
            "versioned" if fmt is Format.VERSIONED else "unversioned",
        )


def filters_from(prefer_format: str, phases: Iterable[str]) -> Filters:
    """Filters from configuration values (``unversioned``/``versioned``; phase names)."""
    return Filters(
        FormatPolicy.for_nova_setting(prefer_format), frozenset(Phase(p) for p in phases)
    )


def _drop_connection() -> None:
    # NOTE: a connection broken by a database outage is unusable; closing it makes the
    # next notification on this thread open a fresh one.
    try:
        connection.close()
    except DatabaseError:
        pass
