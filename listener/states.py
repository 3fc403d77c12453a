"""Last known server states, kept in the outbox transaction (Django ORM only).

Two users:

* **Alarms** (every region): an ERROR event (an action's ``.error`` notification, or a VM
  left in vm_state ``error``), or a power-off Nova did on its own (its request
  context names no user: Nova's power-state sync stops a VM whose guest went down), raises a
  fault for that server (``"alarm": "raise"`` in the event, ``alarm_condition`` ``error`` or
  ``power-off``); the next event that leaves the server ``active`` clears it
  (``"alarm": "clear"``). The VES sink sends those as ``fault`` events, the rest as
  ``stateChange``.
* **Reconciliation** (regions with ``--reconcile-interval``): every event records the
  server's vm_state/task_state at Nova's time, so the reconciler reports only changes the
  listener never stored. A notification that arrives after the reconciler already reported
  its change (same state, within :data:`SAME_CHANGE_WINDOW` after Nova saved it) is
  acknowledged, not stored again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import connection

from multicloud.event_kinds import Kind, Phase
from multicloud.events.models import ServerState

if TYPE_CHECKING:
    from listener.outbox import Accepted

#: Nova saves a server's new state, then notifies: the notification of a change comes at
#: most this long after the ``updated`` time the reconciler saw for it.
SAME_CHANGE_WINDOW = timedelta(seconds=30)
LISTENER = "listener"
RECONCILE = "reconcile"
_SETTLED_PHASES = (Phase.END, Phase.ERROR, Phase.NONE)


def raise_condition(item: Accepted) -> str:
    """``error`` / ``power-off`` when this event raises a fault, else ""."""
    event = item.event
    if event.kind is Kind.ERROR or event.phase is Phase.ERROR:
        return "error"
    if event.state == "error" and event.phase in _SETTLED_PHASES:
        return "error"
    if event.kind is Kind.POWER_OFF and event.phase is Phase.END and event.initiator == "system":
        return "power-off"
    return ""


def _may_clear(item: Accepted) -> bool:
    event = item.event
    return event.state == "active" and event.phase in (Phase.END, Phase.NONE)


def apply(items: list[Accepted]) -> list[Accepted]:
    """Mark alarms on ``items`` (new events, in one transaction), record the states of
    tracked regions; returns the items to store (without those already reported by the
    reconciler)."""
    wanted = [
        item
        for item in items
        if item.event.instance_id and (item.track or raise_condition(item) or _may_clear(item))
    ]
    if not wanted:
        return items
    known = _load(wanted)
    created: dict[tuple[str, str], ServerState] = {}
    changed: dict[tuple[str, str], ServerState] = {}
    skip: set[int] = set()
    alarmed: set[int] = set()
    for item in sorted(wanted, key=lambda i: i.event.emitted_at):
        key = (item.key[0], str(item.event.instance_id))
        row = known.get(key)
        if row is not None and item.source == LISTENER and _already_reconciled(row, item):
            skip.add(id(item))
            row.source = LISTENER
            changed.setdefault(key, row)
            continue
        row = _alarm(item, key, row, known, created, changed)
        if item.message and "alarm" in item.message:
            alarmed.add(id(item))
        if item.track:
            _record(item, key, row, known, created, changed)
    if created:
        ServerState.objects.bulk_create(created.values())
    updated = [row for key, row in changed.items() if key not in created]
    if updated:
        _update(updated)
    # NOTE: an alarm changed the message: its JSON text must be made again.
    return [
        replace(item, text=None) if id(item) in alarmed else item
        for item in items
        if id(item) not in skip
    ]


def _update(rows: list[ServerState]) -> None:
    """Save changed states: one UPDATE statement run for each row.

    NOTE: plain SQL, not ``bulk_update``: its CASE expressions cost more to build than the
    rest of storing a batch."""
    table = ServerState._meta.db_table
    sql = (
        f"UPDATE {table} SET vm_state = %s, task_state = %s, changed_at = %s, source = %s, "  # noqa: S608 (constant names)
        "fault = %s WHERE id = %s"
    )
    stamp = connection.ops.adapt_datetimefield_value
    values = [
        (r.vm_state, r.task_state, stamp(r.changed_at), r.source, r.fault, r.pk) for r in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


_STATE_COLUMNS = (
    "id",
    "vim_id",
    "instance_id",
    "vm_state",
    "task_state",
    "changed_at",
    "source",
    "fault",
)


def _load(items: list[Accepted]) -> dict[tuple[str, str], ServerState]:
    """The stored states of the servers ``items`` name, by (vim id, instance id).

    NOTE: plain SQL into model instances built from the row (as the ORM does): building
    the query (a Q per region) cost as much as the rest of recording a batch's states."""
    by_region: dict[str, set[str]] = {}
    for item in items:
        by_region.setdefault(item.key[0], set()).add(str(item.event.instance_id))
    where, params = [], []
    for vim_id, ids in by_region.items():
        where.append(f"(vim_id = %s AND instance_id IN ({', '.join(['%s'] * len(ids))}))")
        params += [vim_id, *ids]
    sql = (
        f"SELECT {', '.join(_STATE_COLUMNS)} FROM {ServerState._meta.db_table} "  # noqa: S608 (constant names, placeholders)
        f"WHERE {' OR '.join(where)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found = {}
    for row in rows:
        state = ServerState.from_db(
            connection.alias, _STATE_COLUMNS, (*row[:5], moment(row[5]), *row[6:])
        )
        found[(state.vim_id, state.instance_id)] = state
    return found


def moment(value: Any) -> datetime:
    """A datetime column read with plain SQL: aware already (PostgreSQL) or UTC text
    (SQLite, as Django stores it)."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _already_reconciled(row: ServerState, item: Accepted) -> bool:
    event = item.event
    return (
        row.source == RECONCILE
        and event.phase in _SETTLED_PHASES
        and row.vm_state == (event.state or "")
        and timedelta(0) <= event.emitted_at - row.changed_at <= SAME_CHANGE_WINDOW
    )


def _alarm(item, key, row, known, created, changed) -> ServerState | None:  # noqa: ANN001
    condition = raise_condition(item)
    message = item.message if item.message is not None else {}
    if condition:
        row = row or _new(item, key, known, created)
        row.fault = condition
        message.update(alarm="raise", alarm_condition=condition)
        changed.setdefault(key, row)
    elif row is not None and row.fault and _may_clear(item):
        message.update(alarm="clear", alarm_condition=row.fault)
        row.fault = ""
        changed.setdefault(key, row)
    return row


def _record(item, key, row, known, created, changed) -> None:  # noqa: ANN001
    event = item.event
    if event.phase not in _SETTLED_PHASES or not event.state:
        return
    row = row or _new(item, key, known, created)
    if row.changed_at > event.emitted_at:
        return
    row.vm_state, row.task_state = event.state, event.state_description or ""
    row.changed_at, row.source = event.emitted_at, LISTENER
    changed.setdefault(key, row)


def _new(item, key, known, created) -> ServerState:  # noqa: ANN001
    event = item.event
    row = ServerState(
        vim_id=key[0],
        instance_id=key[1],
        vm_state=event.state or "",
        task_state=event.state_description or "",
        changed_at=event.emitted_at,
        source=LISTENER,
    )
    known[key] = row
    created[key] = row
    return row


def record_reconciled(vim_id: str, instance_id: str, vm_state: str, changed_at: datetime) -> None:
    """The reconciler saw (and reported, if anyone wanted it) this settled state."""
    ServerState.objects.update_or_create(
        vim_id=vim_id,
        instance_id=instance_id,
        defaults={
            "vm_state": vm_state,
            "task_state": "",
            "changed_at": changed_at,
            "source": RECONCILE,
        },
    )
