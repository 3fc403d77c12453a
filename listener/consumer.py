"""The notification endpoint: Nova notifications -> filtered events -> outbox rows -> ack.

Framework-free; no oslo.messaging import here (the endpoints are plain objects with
``info``/``error`` methods, which is all oslo.messaging needs), so tests call
:meth:`Endpoint.handle` and :meth:`Endpoint.handle_batch` directly.
:class:`BatchEndpoint` is what oslo.messaging's batch notification listener calls: a whole
batch is stored in one transaction and acknowledged after its commit.

Durable before ack: a batch is HANDLED only after its event rows are committed (or were
already there: Nova redelivered them), or when a notification is deliberately not kept (not
an instance event, the other Nova format, a kind/phase nobody subscribed to). A
notification that can never be stored (malformed, too deep, NaN, ``\\u0000``, or failing the
same way :data:`MAX_REQUEUES` times) is parked in the inbound dead-letter table
(:mod:`listener.inbound`) in the same transaction, then acknowledged. On a database error
the endpoint sleeps a bounded, growing backoff and returns REQUEUE, so the broker
redelivers the batch later; a delivery is never held for longer than that backoff
(``MULTICLOUD_EVENTS_DB_RETRY_MAX``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, DataError, connection, transaction

from listener import inbound, outbox, ownership
from listener.metrics import count_notification
from listener.notifications import (
    Format,
    FormatPolicy,
    NovaEvent,
    Phase,
    classify,
    initiator_of,
    parse,
    request_id_of,
    to_message,
)
from listener.publisher import Counters
from multicloud.events.subscriptions import Router

log = logging.getLogger(__name__)

#: oslo.messaging's NotificationResult values (plain strings; no import needed here).
HANDLED = "handled"
REQUEUE = "requeue"
#: Times a notification may fail the same unexpected way before it is parked.
MAX_REQUEUES = 5
#: The other-format warning waits this long without one preferred notification (a
#: restart drains both formats' queues at once; the other one may simply come first).
FORMAT_GRACE_SECONDS = 60.0
_REMEMBERED_FAILURES = 10_000


@dataclass(frozen=True)
class Filters:
    """What the listener keeps, besides subscriptions: one Nova format, some phases."""

    policy: FormatPolicy
    phases: frozenset[Phase]


@dataclass
class _Sorted:
    """One batch, sorted: events to store, notifications to park; the counters (added
    once per batch) and the routes of each kind (looked up once per batch)."""

    keep: list[outbox.Accepted]
    poison: list[inbound.Poison]
    counts: Counter[str] = field(default_factory=Counter)
    routes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


class Endpoint:
    """oslo.messaging notification endpoint of one cloud region (one message per call)."""

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
        clock=time.monotonic,
        track: bool = False,
    ):
        self.owner = owner
        #: Record server states for the reconciler (listener/states.py).
        self.track = track
        #: Monotonic time of the last notification, and the newest Nova time of the
        #: preferred format seen (how far the reconciler may trust the listener).
        self.last_received = clock()
        self.newest_seen: Any = None
        self.region = region
        self.router = router
        self.filters = filters
        self.counters = counters or Counters(mirror=count_notification)
        self.db_retry_max = db_retry_max
        self.on_stored = on_stored
        self.sleep = sleep
        self.clock = clock
        self._failures = 0
        self._lock = threading.Lock()
        self._warned_format = False
        self._seen_preferred = False
        self._first_other: float | None = None
        self._requeued: OrderedDict[str, int] = OrderedDict()

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

    @property
    def vim_id(self) -> str:
        return f"{self.owner}_{self.region}"

    def handle(
        self,
        priority: str,
        publisher_id: str,
        event_type: str,
        payload: Any,
        metadata: dict,
        ctxt: Any = None,
    ) -> str:
        """Process one notification; HANDLED (ack) or REQUEUE (redeliver later)."""
        message = {
            "ctxt": ctxt,
            "publisher_id": publisher_id,
            "event_type": event_type,
            "payload": payload,
            "metadata": metadata,
        }
        return self.handle_batch(priority, [message])

    def handle_batch(self, priority: str, messages: list[dict[str, Any]]) -> str:
        """Process a batch of one priority in one transaction; HANDLED or REQUEUE (all)."""
        self.counters.add("received", len(messages))
        self.last_received = self.clock()
        batch = _Sorted([], [])
        for message in messages:
            self._sort(priority, message, batch)
        for name, n in batch.counts.items():
            self.counters.add(name, n)
        if not batch.keep and not batch.poison:
            return HANDLED
        try:
            with ownership.writing():
                return self._store(batch)
        except DatabaseError as exc:
            return self._requeue(batch, exc)
        except Exception as exc:
            # NOTE: a bug must not drop the events, nor spin on them: log, back off, requeue
            # (and park what keeps failing, see _requeue).
            log.exception("listener %s: failed on a batch of %d", self.vim_id, len(messages))
            return self._requeue(batch, exc)

    # ----------------------------------------------------------------- sorting

    def _sort(self, priority: str, message: dict[str, Any], batch: _Sorted) -> None:
        event_type = message.get("event_type")
        classified = classify(event_type) if isinstance(event_type, str) else None
        if classified is None or not isinstance(event_type, str):
            batch.counts["ignored"] += 1
            return
        if not self.filters.policy.accepts(classified[0]):
            # NOTE: decided on the event type alone, before the (costly) payload mapping.
            batch.counts["other_format"] += 1
            self._warn_format_once(classified[0])
            return
        self._seen_preferred = True
        try:
            event = parse(
                priority,
                str(message.get("publisher_id") or ""),
                event_type,
                message.get("payload"),
                message.get("metadata") or {},
                request_id_of(message.get("ctxt"), message.get("metadata") or {}),
                initiator_of(message.get("ctxt")),
            )
        except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as exc:
            self._poison(priority, message, f"malformed: {type(exc).__name__}: {exc}", batch)
            return
        if event is None:
            batch.counts["ignored"] += 1
            return
        if self.newest_seen is None or event.emitted_at > self.newest_seen:
            self.newest_seen = event.emitted_at
        self._route(event, priority, message, batch)

    def _route(self, event: NovaEvent, priority: str, message: dict, batch: _Sorted) -> None:
        batch.counts["preferred_format"] += 1
        kind = event.kind.value
        topics = batch.routes.get(kind)
        if topics is None:
            topics = batch.routes[kind] = self.router.routes(self.owner, self.region, kind)
        if event.phase not in self.filters.phases or not topics:
            batch.counts["unsubscribed"] += 1
            return
        stored = to_message(event, self.owner, self.region)
        why, text = inbound.as_json(stored)
        if why:
            self._poison(priority, message, why, batch)
            return
        batch.keep.append(
            outbox.Accepted(
                event, self.owner, self.region, tuple(topics), stored, track=self.track, text=text
            )
        )

    def _poison(self, priority: str, message: dict, reason: str, batch: _Sorted) -> None:
        batch.poison.append(
            inbound.Poison(
                self.vim_id,
                priority,
                message.get("event_type"),
                message.get("payload"),
                message.get("metadata"),
                reason[:1000],
                request_id_of(message.get("ctxt"), message.get("metadata") or {}),
            )
        )

    # ----------------------------------------------------------------- storing

    def _store(self, batch: _Sorted) -> str:
        try:
            with transaction.atomic():
                stored = outbox.accept_many(batch.keep)
                parked = inbound.park(batch.poison)
        except DataError:
            # NOTE: the database refused a value a retry will not change: find the one(s)
            # one by one and park them; the others are stored.
            stored, parked = self._store_one_by_one(batch)
        self._stored(batch, stored, parked)
        return HANDLED

    def _store_one_by_one(self, batch: _Sorted) -> tuple[int, int]:
        stored = 0
        for item in batch.keep:
            try:
                with transaction.atomic():
                    stored += outbox.accept_many([item])
            except DataError as exc:
                batch.poison.append(self._poison_of(item, f"refused by the database: {exc}"))
        with transaction.atomic():
            parked = inbound.park(batch.poison)
        return stored, parked

    def _poison_of(self, item: outbox.Accepted, reason: str) -> inbound.Poison:
        event = item.event
        return inbound.Poison(
            self.vim_id,
            event.priority,
            event.event_type,
            item.message,
            {"message_id": event.message_id},
            reason[:1000],
        )

    def _stored(self, batch: _Sorted, stored: int, parked: int) -> None:
        self.counters.add("stored", stored)
        self.counters.add("duplicate", len(batch.keep) - stored)
        self.counters.add("parked", len(batch.poison))
        with self._lock:
            self._failures = 0
            for item in batch.keep:
                self._requeued.pop(item.event.message_id, None)
        if stored:
            self.on_stored()

    def _requeue(self, batch: _Sorted, exc: Exception) -> str:
        if not isinstance(exc, DatabaseError) and self._park_repeat_offenders(batch, exc):
            try:
                with ownership.writing(), transaction.atomic():
                    inbound.park(batch.poison)
                self.counters.add("parked", len(batch.poison))
            except DatabaseError as db_exc:
                exc = db_exc
            else:
                if not batch.keep:
                    return HANDLED
        with self._lock:
            self._failures += 1
            failures = self._failures
        delay = min(self.db_retry_max, 0.1 * 2 ** min(failures - 1, 10))
        log.warning(
            "listener %s: cannot store %d event(s) (%s); requeueing them after %.1fs",
            self.vim_id,
            len(batch.keep) + len(batch.poison),
            exc,
            delay,
        )
        _drop_connection()
        self.counters.add("requeued", len(batch.keep) + len(batch.poison))
        self.sleep(delay)
        return REQUEUE

    def _park_repeat_offenders(self, batch: _Sorted, exc: Exception) -> bool:
        """Count this failure per notification; move those past MAX_REQUEUES to poison."""
        offenders = []
        with self._lock:
            for item in batch.keep:
                seen = self._requeued.pop(item.event.message_id, 0) + 1
                self._requeued[item.event.message_id] = seen
                if seen > MAX_REQUEUES:
                    offenders.append(item)
            while len(self._requeued) > _REMEMBERED_FAILURES:
                self._requeued.popitem(last=False)
        reason = f"failed {MAX_REQUEUES + 1} times: {type(exc).__name__}: {exc}"
        for item in offenders:
            batch.keep.remove(item)
            batch.poison.append(self._poison_of(item, reason))
        return bool(offenders)

    # ----------------------------------------------------------------- format warning

    def _warn_format_once(self, fmt: Format) -> None:
        if self._warned_format or self._seen_preferred:
            return
        now = self.clock()
        if self._first_other is None:
            self._first_other = now
        if now - self._first_other < FORMAT_GRACE_SECONDS:
            return
        self._warned_format = True
        log.warning(
            "listener %s: for %.0fs only %s notifications arrived, but events come only from "
            "%s ones (MULTICLOUD_EVENTS_PREFER_FORMAT); if this cloud's Nova has "
            "notification_format=%s, no event will be published",
            self.vim_id,
            FORMAT_GRACE_SECONDS,
            fmt.value.lower(),
            self.filters.policy.prefer.value.lower(),
            "versioned" if fmt is Format.VERSIONED else "unversioned",
        )


def _directly(handle: Callable[[str, list[dict[str, Any]]], str], *args: Any) -> str:
    return handle(*args)


class BatchEndpoint:
    """What oslo.messaging's batch notification listener calls: ``info(messages)``, each
    message a dict (``ctxt``, ``publisher_id``, ``event_type``, ``payload``, ``metadata``).

    ``run`` calls the endpoint: the runner passes its store pool's, so the database work of
    every region shares a bounded set of threads (and database connections), however many
    regions there are.
    """

    def __init__(self, endpoint: Endpoint, run: Callable[..., str] = _directly):
        self.endpoint = endpoint
        self.run = run

    def info(self, messages: list[dict[str, Any]]) -> str:
        return self.run(self.endpoint.handle_batch, "INFO", messages)

    def error(self, messages: list[dict[str, Any]]) -> str:
        return self.run(self.endpoint.handle_batch, "ERROR", messages)


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
