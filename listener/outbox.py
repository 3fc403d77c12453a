"""The outbox: accepted events, durable before Nova's notification is acknowledged.

Framework-free (Django ORM only). :func:`accept_many` is what the listener calls (one
transaction for a whole batch of notifications); :func:`claim` and :func:`settle` are what
the publisher calls (pollers read through :mod:`multicloud.events.service`).

Each event has one :class:`~multicloud.events.models.Delivery` per topic, and the publisher
works per *queue* (region + topic): a topic Message Router refuses or cannot reach holds back only
its own queue, never the region's other topics. Claiming keeps each queue in Nova order,
even with several publishers on one PostgreSQL: a publisher first locks the queue's oldest
pending delivery (``SELECT ... FOR UPDATE SKIP LOCKED``); if another publisher holds it, or
holds a lease on it, the queue is skipped. The claimed rows get a lease
(``claimed_by``/``claimed_until``) in that short transaction, so no transaction stays open
while Message Router is called. On SQLite (one writer at a time) the same transaction is
simply serialised.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from listener import ownership, states
from listener.notifications import NovaEvent, to_message
from multicloud.events.models import MESSAGE_ROUTER, Delivery, Event, Status, destination
from multicloud.events.service import summarise

log = logging.getLogger(__name__)
PENDING = Status.PENDING
MR = MESSAGE_ROUTER
#: One queue of the outbox: (vim id, sink, topic).
Queue = tuple[str, str, str]


@dataclass(frozen=True)
class Accepted:
    """One event to store, with the region it belongs to and its topics."""

    event: NovaEvent
    owner: str
    region: str
    #: Where it goes: Message Router topic names, or (sink, topic) pairs.
    topics: tuple[str | tuple[str, str], ...]
    message: dict[str, Any] | None = None  # to_message() of the event, when already made
    #: Record the server's state (the region is reconciled, see listener/states.py).
    track: bool = False
    #: ``listener`` (a Nova notification) or ``reconcile`` (found by polling Nova).
    source: str = "listener"
    #: ``message`` as JSON text, when already made (it is what gets stored).
    text: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (f"{self.owner}_{self.region}", self.event.message_id)

    @property
    def routes(self) -> list[tuple[str, str]]:
        """(sink, topic) pairs, sorted, without duplicates."""
        return sorted({(MR, t) if isinstance(t, str) else (t[0], t[1]) for t in self.topics})


def accept(event: NovaEvent, owner: str, region: str, topics: list[str]) -> bool:
    """Store ``event`` for ``topics``; False when it was already stored (a redelivery).

    Raises django.db.DatabaseError when the database cannot take it: the caller must then
    not acknowledge the notification.
    """
    return bool(accept_many([Accepted(event, owner, region, tuple(topics))]))


def accept_many(items: list[Accepted]) -> int:
    """Store ``items`` in one transaction; returns how many were new (the rest were there).

    Raises django.db.DatabaseError when the database cannot take them (nothing is stored
    then): the caller must not acknowledge those notifications.
    """
    unique = list({item.key: item for item in items}.values())
    with ownership.writing():
        try:
            with transaction.atomic():
                return _insert_new(unique)
        except IntegrityError:
            # NOTE: another replica stored one of them meanwhile; one by one, each new one
            # is still stored and each present one skipped.
            return sum(_insert_one(item) for item in unique)


def _insert_one(item: Accepted) -> int:
    try:
        with transaction.atomic():
            return _insert_new([item])
    except IntegrityError:
        return 0


def _insert_new(items: list[Accepted]) -> int:
    present = _present_keys(items)
    fresh = states.apply([_with_message(item) for item in items if item.key not in present])
    if not fresh:
        return 0
    now = timezone.now()
    ids = _insert_events(fresh, now)
    _insert_deliveries(
        [
            (ids[item.key], item.key[0], sink, topic, item.event.emitted_at)
            for item in fresh
            for sink, topic in item.routes
        ],
        now,
    )
    return len(fresh)


def _with_message(item: Accepted) -> Accepted:
    if item.message is not None:
        return item
    return replace(item, message=to_message(item.event, item.owner, item.region))


_EVENT_COLUMNS = (
    "cloud_owner",
    "cloud_region_id",
    "vim_id",
    "message_id",
    "event_type",
    "kind",
    "phase",
    "instance_id",
    "emitted_at",
    "message",
    "topics",
    "dead_topics",
    "status",
    "last_error",
    "created_at",
)


def _insert_events(items: list[Accepted], now: datetime) -> dict[tuple[str, str], int]:
    """Multi-row INSERTs of the batch's events; ((vim id, message id) → event id).

    NOTE: plain SQL, not ``bulk_create``: preparing every field of every row through the
    ORM cost more than the rest of storing a batch; the values are the same. One statement
    per ``ROWS_PER_INSERT`` rows, ``RETURNING`` the ids, instead of one per row: psycopg's
    pipeline under ``executemany`` was a sixth of the listener's CPU on PostgreSQL."""
    ops = connection.ops
    as_json = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    marks = ", ".join(
        as_json if c in ("message", "topics", "dead_topics") else "%s" for c in _EVENT_COLUMNS
    )
    created = ops.adapt_datetimefield_value(now)
    rows = [_event_values(item, ops, created) for item in items]
    ids: dict[tuple[str, str], int] = {}
    with connection.cursor() as cursor:
        for chunk in _chunks(rows):
            values = ", ".join([f"({marks})"] * len(chunk))
            sql = (
                f"INSERT INTO {Event._meta.db_table} ({', '.join(_EVENT_COLUMNS)}) "  # noqa: S608 (constant names, placeholders)
                f"VALUES {values} RETURNING id, vim_id, message_id"
            )
            cursor.execute(sql, [value for row in chunk for value in row])
            ids.update(((vim_id, message_id), pk) for pk, vim_id, message_id in cursor.fetchall())
    return ids


#: Rows per multi-row INSERT (SQLite allows 32,766 parameters; events have 15 columns).
ROWS_PER_INSERT = 500


def _chunks(rows: list[tuple]) -> Iterator[list[tuple]]:
    for start in range(0, len(rows), ROWS_PER_INSERT):
        yield rows[start : start + ROWS_PER_INSERT]


_DELIVERY_COLUMNS = (
    "event_id",
    "vim_id",
    "sink",
    "topic",
    "emitted_at",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "claimed_by",
    "created_at",
)


def _insert_deliveries(rows: list[tuple[int, str, str, str, datetime]], now: datetime) -> None:
    """Multi-row INSERTs of the batch's deliveries (plain SQL, as for the events)."""
    ops = connection.ops
    columns = ", ".join(_DELIVERY_COLUMNS)
    row_marks = f"({', '.join(['%s'] * len(_DELIVERY_COLUMNS))})"
    sql = f"INSERT INTO {Delivery._meta.db_table} ({columns}) VALUES "  # noqa: S608 (constant names)
    stamp = ops.adapt_datetimefield_value(now)
    values = [
        (
            event_id,
            vim_id,
            sink,
            topic,
            ops.adapt_datetimefield_value(emitted),
            "pending",
            0,
            stamp,
            "",
            "",
            stamp,
        )
        for event_id, vim_id, sink, topic, emitted in rows
    ]
    with connection.cursor() as cursor:
        for chunk in _chunks(values):
            cursor.execute(
                f"{sql}{', '.join([row_marks] * len(chunk))}",
                [value for row in chunk for value in row],
            )


def _event_values(item: Accepted, ops, created) -> tuple:  # noqa: ANN001 (backend ops)
    event = item.event
    message = item.message or to_message(event, item.owner, item.region)
    return (
        item.owner,
        item.region,
        item.key[0],
        event.message_id,
        event.event_type,
        event.kind.value,
        event.phase.value,
        event.instance_id or "",
        ops.adapt_datetimefield_value(event.emitted_at),
        item.text if item.text is not None else json.dumps(message),
        json.dumps([destination(sink, topic) for sink, topic in item.routes]),
        "[]",
        str(Status.PENDING),
        "",
        created,
    )


def _ids_of(items: list[Accepted]) -> Iterator[tuple[tuple[str, str], int]]:
    """((vim id, message id), event id) of the stored events among ``items``.

    NOTE: plain SQL: building the ORM query (a Q per region) cost as much as running it."""
    if not items:
        return
    table = Event._meta.db_table
    by_region: dict[str, list[str]] = {}
    for vim_id, message_id in {item.key for item in items}:
        by_region.setdefault(vim_id, []).append(message_id)
    where, params = [], []
    for vim_id, ids in by_region.items():
        where.append(f"(vim_id = %s AND message_id IN ({', '.join(['%s'] * len(ids))}))")
        params += [vim_id, *ids]
    sql = f"SELECT id, vim_id, message_id FROM {table} WHERE {' OR '.join(where)}"  # noqa: S608 (constant names, placeholders)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for pk, vim_id, message_id in cursor.fetchall():
            yield (vim_id, message_id), pk


def _present_keys(items: list[Accepted]) -> set[tuple[str, str]]:
    return {key for key, _ in _ids_of(items)}


def pending_queues() -> list[Queue]:
    """(vim id, sink, topic) queues that have deliveries waiting (due or not)."""
    # NOTE: plain SQL: the publisher asks after every stored batch.
    table = Delivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT vim_id, sink, topic FROM {table} WHERE status = %s",  # noqa: S608 (constant names)
            [str(PENDING)],
        )
        return sorted(cursor.fetchall())


@dataclass(slots=True)
class ClaimedEvent:
    """What the publisher reads of a claimed delivery's event (for its logs)."""

    message_id: str
    event_type: str


@dataclass(slots=True)
class Claimed:
    """A claimed delivery: the :class:`~multicloud.events.models.Delivery` fields the
    publisher reads and settles, the event's ids and the message as stored (JSON text).

    NOTE: plain objects read with plain SQL: building model instances (and parsing each
    of their datetimes) cost most of a publish round."""

    id: int
    event_id: int
    vim_id: str
    sink: str
    topic: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    claimed_by: str
    claimed_until: datetime | None
    created_at: datetime
    event: ClaimedEvent
    text: str
    published_at: datetime | None = None

    def as_model(self) -> Delivery:
        """The settled fields as a model instance (for ``bulk_update``)."""
        return Delivery(
            id=self.id,
            status=self.status,
            attempts=self.attempts,
            next_attempt_at=self.next_attempt_at,
            last_error=self.last_error,
            claimed_by=self.claimed_by,
            claimed_until=self.claimed_until,
        )


_CLAIM_SQL = (
    "SELECT d.id, d.event_id, d.vim_id, d.sink, d.topic, d.status, d.attempts, "
    "d.next_attempt_at, d.last_error, d.claimed_by, d.claimed_until, d.created_at, "
    "e.message_id, e.event_type, CAST(e.message AS TEXT) "
    "FROM {delivery} d JOIN {event} e ON e.id = d.event_id "
    "WHERE d.vim_id = %s AND d.sink = %s AND d.topic = %s AND d.status = %s "
    "ORDER BY d.emitted_at, d.id LIMIT %s"
)


def claim(
    vim_id: str,
    topic: str,
    worker: str,
    limit: int,
    lease: float,
    *,
    sink: str = MR,
    take_over: bool = False,
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries of a queue, oldest first; [] when not our turn.

    The rows are a prefix of the queue in Nova order: the claim stops at the first row that
    is not due (a backoff holds the rest of the queue back, so later events never overtake
    it) or that another publisher holds. ``take_over``: the caller owns the queue (see
    :mod:`listener.ownership`), so rows claimed by anyone else belong to a publisher that is
    gone and are taken at once, whatever their lease says.
    """
    now = timezone.now()
    sql = _CLAIM_SQL.format(delivery=Delivery._meta.db_table, event=Event._meta.db_table)
    with ownership.writing(), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, [vim_id, sink, topic, str(PENDING), limit])
            rows = [_claimed(row) for row in cursor.fetchall()]
        taken = _claimable_prefix(rows, now, take_over)
        if not taken:
            return []
        until = now + timedelta(seconds=lease)
        mine = Delivery.objects.filter(id__in=[r.id for r in taken], status=PENDING)
        if not take_over:
            mine = mine.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        if mine.update(claimed_by=worker, claimed_until=until) != len(taken):
            # NOTE: another publisher claimed some of them meanwhile: not our turn.
            transaction.set_rollback(True)
            return []
    for row in taken:
        row.claimed_by, row.claimed_until = worker, until
    return taken


def _claimed(row: tuple) -> Claimed:
    (pk, event_id, vim_id, sink, topic, status, attempts, due, error, by, until, created) = row[:12]
    return Claimed(
        pk,
        event_id,
        vim_id,
        sink,
        topic,
        status,
        attempts,
        states.moment(due),
        error,
        by,
        states.moment(until) if until is not None else None,
        states.moment(created),
        ClaimedEvent(row[12], row[13]),
        row[14],
    )


def message_of(row: Claimed) -> str:
    """A claimed delivery's message as JSON text (as stored: no decoding and encoding)."""
    return row.text


def _claimable_prefix(rows: list[Claimed], now: datetime, take_over: bool) -> list[Claimed]:
    taken = []
    for row in rows:
        if row.next_attempt_at > now:
            break
        held = row.claimed_until is not None and row.claimed_until >= now
        if held and not take_over:
            break
        taken.append(row)
    return taken


def expedite(queues: set[Queue] | list[Queue]) -> int:
    """Make the waiting deliveries of ``queues`` due now (their sink is back); returns how many."""
    now = timezone.now()
    hurried = 0
    for vim_id, sink, topic in queues:
        hurried += Delivery.objects.filter(
            vim_id=vim_id, sink=sink, topic=topic, status=PENDING, next_attempt_at__gt=now
        ).update(next_attempt_at=now)
    return hurried


@dataclass
class Outcome:
    """What happened to one claimed delivery during a publish round."""

    published: bool = False
    dead: str = ""  # the reason, when Message Router refused it for good
    retry_error: str = ""  # the reason, when it is to be tried again


@dataclass(frozen=True)
class GiveUp:
    """When a delivery that keeps failing is dead-lettered instead of retried."""

    max_attempts: int = 0  # 0: no limit
    max_age: float = 0.0  # seconds since the event was accepted; 0: no limit

    def reason(self, row: Claimed, now: datetime) -> str:
        if self.max_attempts and row.attempts >= self.max_attempts:
            return f"gave up after {row.attempts} attempts"
        if self.max_age and (now - row.created_at).total_seconds() >= self.max_age:
            return f"gave up after {self.max_age:g}s"
        return ""


NEVER_GIVE_UP = GiveUp()


def settle(
    rows: list[Claimed],
    outcomes: dict[int, Outcome],
    worker: str,
    retry_at: datetime | None,
    give_up: GiveUp = NEVER_GIVE_UP,
) -> list[Claimed]:
    """Record the round: published, dead-lettered, retried; release the lease.

    Rows whose lease was lost meanwhile (another publisher, or a deleted subscription, owns
    them now) are left alone. Returns the deliveries dead-lettered for giving up.
    """
    now = timezone.now()
    with ownership.writing(), transaction.atomic():
        ours = _still_claimed([r.id for r in rows], worker)
        changed = [r for r in rows if r.id in ours]
        gave_up = [
            r for r in changed if _apply(r, outcomes.get(r.id, Outcome()), now, retry_at, give_up)
        ]
        _write(changed, now)
        summarise({r.event_id for r in changed})
    return gave_up


def _still_claimed(ids: list[int], worker: str) -> set[int]:
    table = Delivery._meta.db_table
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE id IN ({marks}) AND claimed_by = %s",  # noqa: S608 (constant names)
            [*ids, worker],
        )
        return {row[0] for row in cursor.fetchall()}


def _write(rows: list[Claimed], now: datetime) -> None:
    """Save the settled rows: one UPDATE for the published ones (the common case, plain
    SQL), one for those retried or dead (rare)."""
    published = [r.id for r in rows if r.status == Status.PUBLISHED]
    if published:
        table = Delivery._meta.db_table
        marks = ", ".join(["%s"] * len(published))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET status = %s, published_at = %s, claimed_by = '', "  # noqa: S608 (constant names)
                f"claimed_until = NULL WHERE id IN ({marks})",
                [str(Status.PUBLISHED), connection.ops.adapt_datetimefield_value(now), *published],
            )
    others = [r.as_model() for r in rows if r.status != Status.PUBLISHED]
    if not others:
        return
    Delivery.objects.bulk_update(
        others,
        ["status", "attempts", "next_attempt_at", "last_error", "claimed_by", "claimed_until"],
        batch_size=200,
    )


def _apply(
    row: Claimed, outcome: Outcome, now: datetime, retry_at: datetime | None, give_up: GiveUp
) -> bool:
    row.claimed_by, row.claimed_until = "", None
    if outcome.published:
        row.status, row.published_at = Status.PUBLISHED, now
        return False
    if outcome.dead:
        row.status, row.last_error = Status.DEAD, outcome.dead[:2000]
        return False
    if not outcome.retry_error:
        return False
    row.attempts += 1
    row.next_attempt_at = retry_at or now
    row.last_error = outcome.retry_error[:2000]
    why = give_up.reason(row, now)
    if why:
        row.status, row.last_error = Status.DEAD, f"{why}; last: {outcome.retry_error}"[:2000]
    return bool(why)


def prune(days: int) -> int:
    """Delete published events created more than ``days`` ago; dead letters are kept."""
    cutoff = timezone.now() - timedelta(days=days)
    _, per_model = Event.objects.filter(status=Status.PUBLISHED, created_at__lt=cutoff).delete()
    return per_model.get(Event._meta.label, 0)


def counts() -> dict[str, int]:
    """Events per status (for logs and tests)."""
    totals = {str(status): 0 for status in Status.values}
    for item in Event.objects.values("status").annotate(n=Count("id")).order_by():
        totals[item["status"]] = item["n"]
    return totals


def backlog() -> int:
    """Deliveries still pending (the outbox's depth)."""
    return Delivery.objects.filter(status=PENDING).count()
