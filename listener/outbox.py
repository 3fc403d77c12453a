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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from listener.notifications import NovaEvent, to_message
from multicloud.events.models import Delivery, Event, Status
from multicloud.events.service import summarise

log = logging.getLogger(__name__)
PENDING = Status.PENDING


@dataclass(frozen=True)
class Accepted:
    """One event to store, with the region it belongs to and its topics."""

    event: NovaEvent
    owner: str
    region: str
    topics: tuple[str, ...]
    message: dict[str, Any] | None = None  # to_message() of the event, when already made

    @property
    def key(self) -> tuple[str, str]:
        return (f"{self.owner}_{self.region}", self.event.message_id)


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
    try:
        with transaction.atomic():
            return _insert_new(unique)
    except IntegrityError:
        # NOTE: another replica stored one of them meanwhile; one by one, each new one is
        # still stored and each present one skipped.
        return sum(_insert_one(item) for item in unique)


def _insert_one(item: Accepted) -> int:
    try:
        with transaction.atomic():
            return _insert_new([item])
    except IntegrityError:
        return 0


def _insert_new(items: list[Accepted]) -> int:
    present = _present_keys(items)
    fresh = [item for item in items if item.key not in present]
    if not fresh:
        return 0
    now = timezone.now()
    _insert_events(fresh, now)
    ids = dict(_ids_of(fresh))
    Delivery.objects.bulk_create(
        Delivery(
            event_id=ids[item.key],
            vim_id=item.key[0],
            topic=topic,
            emitted_at=item.event.emitted_at,
            next_attempt_at=now,
        )
        for item in fresh
        for topic in sorted(set(item.topics))
    )
    return len(fresh)


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


def _insert_events(items: list[Accepted], now: datetime) -> None:
    """One INSERT for the batch's events.

    NOTE: plain SQL, not ``bulk_create``: preparing every field of every row through the
    ORM cost more than the rest of storing a batch; the values are the same."""
    ops = connection.ops
    as_json = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    marks = ", ".join(
        as_json if c in ("message", "topics", "dead_topics") else "%s" for c in _EVENT_COLUMNS
    )
    sql = f"INSERT INTO {Event._meta.db_table} ({', '.join(_EVENT_COLUMNS)}) VALUES ({marks})"  # noqa: S608 (constant names)
    created = ops.adapt_datetimefield_value(now)
    rows = [_event_values(item, ops, created) for item in items]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


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
        json.dumps(message),
        json.dumps(sorted(set(item.topics))),
        "[]",
        str(Status.PENDING),
        "",
        created,
    )


def _ids_of(items: list[Accepted]):
    wanted = Q()
    for vim_id in {item.key[0] for item in items}:
        wanted |= Q(vim_id=vim_id, message_id__in=[i.key[1] for i in items if i.key[0] == vim_id])
    for pk, vim_id, message_id in Event.objects.filter(wanted).values_list(
        "id", "vim_id", "message_id"
    ):
        yield (vim_id, message_id), pk


def _present_keys(items: list[Accepted]) -> set[tuple[str, str]]:
    wanted = Q()
    for vim_id in {item.key[0] for item in items}:
        ids = [item.key[1] for item in items if item.key[0] == vim_id]
        wanted |= Q(vim_id=vim_id, message_id__in=ids)
    return set(Event.objects.filter(wanted).values_list("vim_id", "message_id"))


def pending_queues() -> list[tuple[str, str]]:
    """(vim id, topic) queues that have deliveries waiting (due or not)."""
    rows = Delivery.objects.filter(status=PENDING).values_list("vim_id", "topic").distinct()
    return sorted(rows.order_by())


def _locking(queryset):
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset


def claim(vim_id: str, topic: str, worker: str, limit: int, lease: float) -> list[Delivery]:
    """Lease up to ``limit`` due deliveries of a queue, oldest first; [] when not our turn.

    Nothing is returned when the queue's oldest pending delivery is not due yet (a backoff
    holds the whole queue, so later events never overtake it) or is held by another
    publisher.
    """
    now = timezone.now()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    pending = Delivery.objects.filter(vim_id=vim_id, topic=topic, status=PENDING).order_by(
        "emitted_at", "id"
    )
    with transaction.atomic():
        head = pending.values_list("id", flat=True).first()
        if head is None:
            return []
        locked = _locking(Delivery.objects.filter(id=head, status=PENDING).filter(free))
        if locked.filter(next_attempt_at__lte=now).first() is None:
            return []
        candidates = _locking(
            pending.filter(free, next_attempt_at__lte=now).select_related("event")
        )
        rows = _prefix_from(list(candidates[:limit]), head)
        until = now + timedelta(seconds=lease)
        Delivery.objects.filter(id__in=[r.id for r in rows]).update(
            claimed_by=worker, claimed_until=until
        )
    for row in rows:
        row.claimed_by, row.claimed_until = worker, until
    return rows


def _prefix_from(rows: list[Delivery], head_id: int) -> list[Delivery]:
    for index, row in enumerate(rows):
        if row.id == head_id:
            return rows[index:]
    return []


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

    def reason(self, row: Delivery, now: datetime) -> str:
        if self.max_attempts and row.attempts >= self.max_attempts:
            return f"gave up after {row.attempts} attempts"
        if self.max_age and (now - row.created_at).total_seconds() >= self.max_age:
            return f"gave up after {self.max_age:g}s"
        return ""


NEVER_GIVE_UP = GiveUp()


def settle(
    rows: list[Delivery],
    outcomes: dict[int, Outcome],
    worker: str,
    retry_at: datetime | None,
    give_up: GiveUp = NEVER_GIVE_UP,
) -> list[Delivery]:
    """Record the round: published, dead-lettered, retried; release the lease.

    Rows whose lease was lost meanwhile (another publisher, or a deleted subscription, owns
    them now) are left alone. Returns the deliveries dead-lettered for giving up.
    """
    now = timezone.now()
    with transaction.atomic():
        ours = set(
            Delivery.objects.filter(id__in=[r.id for r in rows], claimed_by=worker).values_list(
                "id", flat=True
            )
        )
        changed = [r for r in rows if r.id in ours]
        gave_up = [
            r for r in changed if _apply(r, outcomes.get(r.id, Outcome()), now, retry_at, give_up)
        ]
        _write(changed, now)
        summarise({r.event_id for r in changed})
    return gave_up


def _write(rows: list[Delivery], now: datetime) -> None:
    """Save the settled rows: one UPDATE for the published ones (the common case), one for
    those retried, row by row only for the dead ones (rare)."""
    published = [r.id for r in rows if r.status == Status.PUBLISHED]
    Delivery.objects.filter(id__in=published).update(
        status=Status.PUBLISHED, published_at=now, claimed_by="", claimed_until=None
    )
    others = [r for r in rows if r.status != Status.PUBLISHED]
    Delivery.objects.bulk_update(
        others,
        ["status", "attempts", "next_attempt_at", "last_error", "claimed_by", "claimed_until"],
        batch_size=200,
    )


def _apply(
    row: Delivery, outcome: Outcome, now: datetime, retry_at: datetime | None, give_up: GiveUp
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
