"""The reconciler: state changes the listener never received, found by polling Nova.

Framework-free (Django ORM, and the Nova polling of :mod:`multicloud.status.service` through
the one OpenStack client seam). Nova's notifier is at-most-once, and a change made while the
listener or its pool queue did not exist is never delivered. For each region with a
reconcile interval (``--reconcile-interval``, or the registration's
``multicloud-events.reconcile-interval``), one thread for all of them polls
``/servers/detail?all_tenants=1&changes-since=...`` and, for every server whose settled
state (no task under way) differs from the last known one (:mod:`listener.states`), emits
an event of the kind that change means (stopped → ``POWER_OFF``, paused → ``PAUSE``, back
to active from stopped → ``POWER_ON``, ...) marked ``"source": "reconcile"``, with Nova's
``updated`` time as its timestamp and a message id derived from the server, the state and
that time (so two replicas store it once).

Never a duplicate of a change that did arrive:

* the listener records every state it stores, in the same transaction, and the reconciler
  compares with that record;
* a change is only judged once the listener has caught up past it: the region's listener
  must be listening and either quiet for :data:`QUIET` seconds (its queue is empty) or
  have received notifications from :data:`MARGIN` seconds after the change; changes newer
  than that wait for the next poll;
* a notification that still arrives for a change the reconciler reported is recognised by
  the listener (:data:`listener.states.SAME_CHANGE_WINDOW`) and not stored again.

The first poll of a region takes a baseline (every server's state, no events); servers
created after it that the listener never saw are reported as created.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import DatabaseError, close_old_connections, transaction

from listener import outbox, ownership, states
from listener.notifications import NovaEvent, to_message
from multicloud.event_kinds import Format, Kind, Phase, format_timestamp, parse_timestamp
from multicloud.events.models import ReconcileCursor, ServerState

log = logging.getLogger(__name__)
#: A listener that received nothing for this long has an empty queue.
QUIET = 3.0
#: Slack for clocks and for notifications handled out of order.
MARGIN = timedelta(seconds=5)
#: changes-since looks back this much before the last reconciled time (Nova's ``updated``
#: has second precision on some databases).
OVERLAP = timedelta(seconds=5)
_NAMESPACE = uuid.UUID("6b1c3f0e-55c2-4d8e-9a57-2f5e0f1f6c31")

#: (state before, state now) -> kind; "*" matches any state before.
_INTO = {
    "stopped": Kind.POWER_OFF,
    "paused": Kind.PAUSE,
    "suspended": Kind.SUSPEND,
    "shelved": Kind.SHELVE,
    "shelved_offloaded": Kind.SHELVE,
    "soft-delete": Kind.SOFT_DELETE,
    "deleted": Kind.DELETE,
    "error": Kind.ERROR,
    "resized": Kind.RESIZE,
    "rescued": Kind.UPDATE,
}
_BACK_TO_ACTIVE = {
    "stopped": Kind.POWER_ON,
    "paused": Kind.UNPAUSE,
    "suspended": Kind.RESUME,
    "shelved": Kind.UNSHELVE,
    "shelved_offloaded": Kind.UNSHELVE,
    "soft-delete": Kind.RESTORE,
    "resized": Kind.RESIZE,
    "building": Kind.CREATE,
}
_ACTIONS = {
    Kind.CREATE: "create",
    Kind.DELETE: "delete",
    Kind.SOFT_DELETE: "soft_delete",
    Kind.POWER_OFF: "power_off",
    Kind.POWER_ON: "power_on",
    Kind.PAUSE: "pause",
    Kind.UNPAUSE: "unpause",
    Kind.SUSPEND: "suspend",
    Kind.RESUME: "resume",
    Kind.SHELVE: "shelve",
    Kind.UNSHELVE: "unshelve",
    Kind.RESIZE: "resize",
    Kind.RESTORE: "restore",
}


def kind_of_change(before: str | None, now: str) -> Kind | None:
    """The kind of event a change of vm_state from ``before`` (None: never seen) means."""
    if now == "active":
        return _BACK_TO_ACTIVE.get(before or "building", Kind.UPDATE)
    if now == "building":
        return None
    return _INTO.get(now, Kind.UPDATE)


@dataclass(frozen=True)
class Region:
    """What the reconciler needs of one region."""

    owner: str
    region: str
    interval: float

    @property
    def vim_id(self) -> str:
        return f"{self.owner}_{self.region}"


class Reconciler:
    """Reconciles every region it is given, each at its interval, on one thread.

    ``caught_up(vim_id)`` says up to which Nova time the region's listener has everything
    (None: not listening, wait); ``routes(owner, region, kind)`` where an event goes
    (:meth:`multicloud.events.subscriptions.Router.routes`); ``record(owner, region)`` the
    region's registration (its Nova credentials).
    """

    def __init__(
        self,
        caught_up: Callable[[str], datetime | None],
        routes: Callable[[str, str, str], list[tuple[str, str]]],
        record: Callable[[str, str], Any],
        poll: Callable[[Any, datetime | None], list[dict[str, Any]]] | None = None,
        on_stored: Callable[[], None] = lambda: None,
    ):
        self.caught_up = caught_up
        self.routes = routes
        self.record = record
        if poll is None:
            from multicloud.status.service import changed_servers

            poll = changed_servers
        self.poll = poll
        self.on_stored = on_stored
        self._regions: dict[str, Region] = {}
        self._next: dict[str, float] = {}
        self._problems: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def set_regions(self, regions: list[Region]) -> None:
        with self._lock:
            self._regions = {r.vim_id: r for r in regions if r.interval > 0}
            for vim_id in list(self._next):
                if vim_id not in self._regions:
                    del self._next[vim_id]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="reconciler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                due = [
                    r
                    for vim_id, r in self._regions.items()
                    if time.monotonic() >= self._next.get(vim_id, 0.0)
                ]
            for region in due:
                if self._stop.is_set():
                    break
                self._next[region.vim_id] = time.monotonic() + region.interval
                self._guarded(region)
        close_old_connections()

    def _guarded(self, region: Region) -> None:
        try:
            found = self.reconcile(region)
        except DatabaseError as exc:
            self._problem(region, f"database error: {exc}")
            _drop_connection()
        except Exception as exc:  # noqa: BLE001 (a cloud may fail in any way; retried)
            self._problem(region, f"{type(exc).__name__}: {str(exc)[:200]}")
        else:
            if self._problems.pop(region.vim_id, None) is not None:
                log.info("reconciler: %s: reconciling again", region.vim_id)
            if found:
                log.info("reconciler: %s: %d missed change(s) reported", region.vim_id, found)

    def _problem(self, region: Region, detail: str) -> None:
        """Logged once per change of problem, naming the region."""
        if self._problems.get(region.vim_id) != detail:
            self._problems[region.vim_id] = detail
            log.warning("reconciler: %s: cannot reconcile: %s", region.vim_id, detail)

    # ----------------------------------------------------------------- one region

    def reconcile(self, region: Region) -> int:
        """One poll of a region; returns how many missed changes it reported."""
        until = self.caught_up(region.vim_id)
        if until is None:
            return 0
        record = self.record(region.owner, region.region)
        cursor = ReconcileCursor.objects.filter(vim_id=region.vim_id).first()
        started = datetime.now(UTC)
        if cursor is None:
            self._baseline(region, record, started)
            return 0
        servers = self.poll(record, cursor.reconciled_to - OVERLAP)
        reported, deferred = 0, []
        for server in servers:
            updated = _updated(server)
            if updated is None:
                continue
            if updated > until:
                deferred.append(updated)  # the listener may still bring it
                continue
            reported += self._one(region, server, updated, cursor.baseline_at)
        reached = min([until, *deferred])
        if reached > cursor.reconciled_to:
            ReconcileCursor.objects.filter(pk=cursor.pk).update(reconciled_to=reached)
        return reported

    def _baseline(self, region: Region, record: Any, started: datetime) -> None:
        for server in self.poll(record, None):
            updated = _updated(server)
            state = server.get("OS-EXT-STS:vm_state")
            if updated is None or not state or server.get("OS-EXT-STS:task_state"):
                continue
            known = ServerState.objects.filter(vim_id=region.vim_id, instance_id=server["id"])
            if not known.filter(changed_at__gte=updated).exists():
                if known.exists():
                    known.update(vm_state=state, task_state="", changed_at=updated)
                else:
                    states.record_reconciled(region.vim_id, server["id"], state, updated)
        ReconcileCursor.objects.create(
            vim_id=region.vim_id, baseline_at=started, reconciled_to=started
        )
        log.info("reconciler: %s: baseline taken", region.vim_id)

    def _one(self, region: Region, server: dict[str, Any], updated: datetime, baseline) -> int:  # noqa: ANN001
        state = server.get("OS-EXT-STS:vm_state") or ""
        if not state or server.get("OS-EXT-STS:task_state"):
            return 0  # a task is under way: its end will change ``updated`` again
        known = ServerState.objects.filter(vim_id=region.vim_id, instance_id=server["id"]).first()
        if known is not None and (known.vm_state == state or known.changed_at >= updated):
            return 0
        if known is None and _created(server) < baseline:
            states.record_reconciled(region.vim_id, server["id"], state, updated)
            return 0
        kind = kind_of_change(known.vm_state if known else None, state)
        if kind is None:
            return 0
        return self._report(region, server, kind, updated)

    def _report(self, region: Region, server: dict[str, Any], kind: Kind, updated) -> int:  # noqa: ANN001
        event = server_event(region.vim_id, server, kind, updated)
        routes = self.routes(region.owner, region.region, kind.value)
        with ownership.writing(), transaction.atomic():
            stored = 0
            if routes:
                message = {**to_message(event, region.owner, region.region), "source": "reconcile"}
                item = outbox.Accepted(
                    event, region.owner, region.region, tuple(routes), message, source="reconcile"
                )
                stored = outbox.accept_many([item])
            states.record_reconciled(region.vim_id, server["id"], event.state or "", updated)
        if stored:
            self.on_stored()
        return 1 if routes else 0


def server_event(vim_id: str, server: dict[str, Any], kind: Kind, updated: datetime) -> NovaEvent:
    """The event of a missed change, from Nova's representation of the server."""
    state = server.get("OS-EXT-STS:vm_state") or ""
    action = _ACTIONS.get(kind)
    event_type = f"compute.instance.{action}.end" if action else "compute.instance.update"
    flavor = _mapping(server.get("flavor"))
    image = _mapping(server.get("image"))
    payload = {
        "instance_id": server["id"],
        "display_name": server.get("name"),
        "tenant_id": server.get("tenant_id"),
        "user_id": server.get("user_id"),
        "state": state,
        "state_description": "",
        "host": server.get("OS-EXT-SRV-ATTR:host"),
        "availability_zone": server.get("OS-EXT-AZ:availability_zone"),
        "launched_at": server.get("OS-SRV-USG:launched_at") or "",
        "terminated_at": server.get("OS-SRV-USG:terminated_at") or "",
        "created_at": server.get("created") or "",
        "instance_flavor_id": flavor.get("id"),
        "image_ref_url": image.get("id"),
        "metadata": server.get("metadata") or {},
        "power_state": server.get("OS-EXT-STS:power_state"),
    }
    stamp = format_timestamp(updated)
    return NovaEvent(
        message_id=str(uuid.uuid5(_NAMESPACE, f"{vim_id}/{server['id']}/{state}/{stamp}")),
        timestamp=stamp,
        emitted_at=updated,
        event_type=event_type,
        format=Format.LEGACY,
        kind=kind,
        phase=Phase.END,
        priority="ERROR" if kind is Kind.ERROR else "INFO",
        publisher_id="multicloud.reconcile",
        instance_id=server["id"],
        tenant_id=server.get("tenant_id"),
        state=state,
        state_description="",
        payload=payload,
    )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _updated(server: dict[str, Any]) -> datetime | None:
    try:
        return parse_timestamp(str(server.get("updated") or ""))
    except ValueError:
        return None


def _created(server: dict[str, Any]) -> datetime:
    try:
        return parse_timestamp(str(server.get("created") or ""))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def _drop_connection() -> None:
    from django.db import connection

    try:
        connection.close()
    except DatabaseError:
        pass
