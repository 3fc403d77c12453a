"""The outbox: accepted events, durable before Nova's notification is acknowledged.

Framework-free (Django ORM only). :func:`accept` is what the listener calls; :func:`claim`
and :func:`settle` are what the publisher calls; :func:`events_since` serves pollers.

Claiming keeps each region's events in order, even with several publishers on one
PostgreSQL: a publisher first locks the region's oldest pending row
(``SELECT ... FOR UPDATE SKIP LOCKED``); if another publisher holds it, or holds a lease on
it, the region is skipped. The claimed rows get a lease (``claimed_by``/``claimed_until``)
in that short transaction, so no transaction stays open while Message Router is called,
and rows of a crashed publisher become claimable again when the lease runs out. On SQLite
(one writer at a time) the same transaction is simply serialised.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from listener.notifications import NovaEvent, to_message
from multicloud.events.models import Event

log = logging.getLogger(__name__)
PENDING = Event.Status.PENDING


def accept(event: NovaEvent, owner: str, region: str, topics: list[str]) -> bool:
    """Store ``event`` for ``topics``; False when it was already stored (a redelivery).

    Raises django.db.DatabaseError when the database cannot take it: the caller must then
    not acknowledge the notification.
    """
    now = timezone.now()
    row = Event(
        cloud_owner=owner,
        cloud_region_id=region,
        vim_id=f"{owner}_{region}",
        message_id=event.message_id,
        event_type=event.event_type,
        kind=event.kind.value,
        phase=event.phase.value,
        instance_id=event.instance_id or "",
        emitted_at=event.emitted_at,
        message=to_message(event, owner, region),
        topics=list(topics),
        pending_topics=list(topics),
        next_attempt_at=now,
    )
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def regions_with_pending() -> list[str]:
    """vim ids that have events waiting (due or not)."""
    rows = Event.objects.filter(status=PENDING).values_list("vim_id", flat=True).distinct()
    return sorted(rows.order_by())


def _locking(queryset):
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset


def claim(vim_id: str, worker: str, limit: int, lease: float) -> list[Event]:
    """Lease up to ``limit`` due events of a region, oldest first; [] when it is not our turn.

    Nothing is returned when the region's oldest pending event is not due yet (a backoff
    holds the whole region, so later events never overtake it) or is held by another
    publisher.
    """
    now = timezone.now()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    pending = Event.objects.filter(vim_id=vim_id, status=PENDING).order_by("emitted_at", "id")
    with transaction.atomic():
        head = pending.values_list("id", flat=True).first()
        if head is None:
            return []
        locked = _locking(Event.objects.filter(id=head, status=PENDING).filter(free))
        first = locked.filter(next_attempt_at__lte=now).first()
        if first is None:
            return []
        rows = list(_locking(pending.filter(free, next_attempt_at__lte=now))[:limit])
        rows = _prefix_from(rows, first.id)
        until = now + timedelta(seconds=lease)
        Event.objects.filter(id__in=[r.id for r in rows]).update(
            claimed_by=worker, claimed_until=until
        )
    for row in rows:
        row.claimed_by, row.claimed_until = worker, until
    return rows


def _prefix_from(rows: list[Event], head_id: int) -> list[Event]:
    for index, row in enumerate(rows):
        if row.id == head_id:
            return rows[index:]
    return []


@dataclass
class Outcome:
    """What happened to one claimed event during a publish round."""

    published_to: list[str] = field(default_factory=list)
    dead_on: dict[str, str] = field(default_factory=dict)
    retry_error: str = ""


def settle(
    rows: list[Event], outcomes: dict[int, Outcome], worker: str, retry_at: datetime | None
) -> None:
    """Record the round: published topics, dead-lettered topics, retries; release the lease.

    Rows whose lease was lost meanwhile (another publisher owns them now) are left alone.
    """
    now = timezone.now()
    with transaction.atomic():
        ours = set(
            Event.objects.filter(id__in=[r.id for r in rows], claimed_by=worker).values_list(
                "id", flat=True
            )
        )
        changed = [r for r in rows if r.id in ours]
        for row in changed:
            _apply(row, outcomes.get(row.id, Outcome()), now, retry_at)
        Event.objects.bulk_update(
            changed,
            [
                "pending_topics",
                "dead_topics",
                "status",
                "attempts",
                "next_attempt_at",
                "last_error",
                "claimed_by",
                "claimed_until",
                "published_at",
            ],
        )


def _apply(row: Event, outcome: Outcome, now: datetime, retry_at: datetime | None) -> None:
    done = set(outcome.published_to) | set(outcome.dead_on)
    row.pending_topics = [t for t in row.pending_topics if t not in done]
    row.dead_topics = sorted(set(row.dead_topics) | set(outcome.dead_on))
    row.claimed_by, row.claimed_until = "", None
    errors = [f"{topic}: {why}" for topic, why in outcome.dead_on.items()]
    if outcome.retry_error:
        errors.append(outcome.retry_error)
    if errors:
        row.last_error = "; ".join(errors)[:2000]
    if row.pending_topics:
        if outcome.retry_error:
            row.attempts += 1
            row.next_attempt_at = retry_at or now
        return
    row.status = Event.Status.DEAD if row.dead_topics else Event.Status.PUBLISHED
    row.published_at = now if row.status == Event.Status.PUBLISHED else None


def prune(days: int) -> int:
    """Delete published events created more than ``days`` ago; dead letters are kept."""
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = Event.objects.filter(status=Event.Status.PUBLISHED, created_at__lt=cutoff).delete()
    return deleted


def counts() -> dict[str, int]:
    """Rows per status (for logs and tests)."""
    totals = {status: 0 for status in Event.Status.values}
    for item in Event.objects.values("status").annotate(n=Count("id")).order_by():
        totals[item["status"]] = item["n"]
    return totals
