"""The reconciler: missed state changes reported once, changes the listener stored never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from listener import outbox
from listener.notifications import parse
from listener.reconcile import Reconciler, Region, kind_of_change
from multicloud.event_kinds import Kind, format_timestamp
from multicloud.events.models import Event, ServerState
from tests.nova_corpus import args, first

pytestmark = pytest.mark.django_db
TOPIC = "t"
REGION = Region("onap", "R1", 1.0)


def server(sid: str, state: str, updated: datetime, created: datetime, task=None) -> dict:
    return {
        "id": sid,
        "name": f"vm-{sid}",
        "tenant_id": "t1",
        "OS-EXT-STS:vm_state": state,
        "OS-EXT-STS:task_state": task,
        "updated": format_timestamp(updated),
        "created": format_timestamp(created),
    }


class Nova:
    def __init__(self) -> None:
        self.servers: dict[str, dict] = {}
        self.asked: list = []

    def poll(self, record, since):
        self.asked.append(since)
        found = self.servers.values()
        if since is None:
            return [s for s in found if s["OS-EXT-STS:vm_state"] != "deleted"]
        return [s for s in found if s["updated"] >= format_timestamp(since)]


@pytest.fixture
def nova():
    return Nova()


def reconciler(nova: Nova, until: list) -> Reconciler:
    return Reconciler(
        caught_up=lambda vim_id: until[0],
        routes=lambda owner, region, kind: [("message-router", TOPIC)],
        record=lambda owner, region: None,
        poll=nova.poll,
    )


def reported() -> list[tuple[str, str, str]]:
    return [
        (e.instance_id, e.kind, e.message.get("source", "listener"))
        for e in Event.objects.order_by("emitted_at", "id")
    ]


def test_missed_changes_are_reported_once_and_stored_ones_never(nova):
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    nova.servers = {
        "a": server("a", "active", t0, t0),
        "b": server("b", "active", t0, t0),
    }
    until = [t0 + timedelta(minutes=1)]
    rec = reconciler(nova, until)
    assert rec.reconcile(REGION) == 0  # the baseline: no events
    assert ServerState.objects.count() == 2

    # the listener stores a pause of a (and records its state in the same transaction)
    pause = first("compute.instance.pause.end")
    pause["payload"] = {**pause["payload"], "instance_id": "a"}
    event = parse(*args(pause))
    outbox.accept_many(
        [outbox.Accepted(event, "onap", "R1", (TOPIC,), track=True)]  # as the listener does
    )
    paused_at = event.emitted_at
    nova.servers["a"] = server("a", "paused", paused_at - timedelta(milliseconds=50), t0)
    # while nobody listened: b stopped, c created, d is being built
    t1 = paused_at + timedelta(seconds=1)
    nova.servers["b"] = server("b", "stopped", t1, t0)
    nova.servers["c"] = server("c", "active", t1, t1)
    nova.servers["d"] = server("d", "building", t1, t1, task="spawning")
    until[0] = t1 + timedelta(seconds=30)
    assert rec.reconcile(REGION) == 2
    assert rec.reconcile(REGION) == 0  # polled again: nothing twice
    assert reported() == [
        ("a", "PAUSE", "listener"),
        ("b", "POWER_OFF", "reconcile"),
        ("c", "CREATE", "reconcile"),
    ]
    missed = Event.objects.get(instance_id="b")
    assert missed.message["timestamp"] == format_timestamp(t1)
    assert missed.message["state"] == "stopped"

    # a change newer than what the listener has caught up to waits for the next poll
    t2 = until[0] + timedelta(seconds=10)
    nova.servers["b"] = server("b", "active", t2, t0)
    assert rec.reconcile(REGION) == 0
    until[0] = t2 + timedelta(seconds=10)
    assert rec.reconcile(REGION) == 1
    assert reported()[-1] == ("b", "POWER_ON", "reconcile")

    # the notification of a reported change still arriving late is not stored again
    late = first("compute.instance.power_on.end")
    late["payload"] = {**late["payload"], "instance_id": "b"}
    late["metadata"]["timestamp"] = (t2 + timedelta(milliseconds=300)).isoformat()
    outbox.accept_many([outbox.Accepted(parse(*args(late)), "onap", "R1", (TOPIC,), track=True)])
    assert reported().count(("b", "POWER_ON", "listener")) == 0
    assert Event.objects.filter(kind="POWER_ON").count() == 1


def test_two_replicas_reconciling_store_a_missed_change_once(nova):
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    nova.servers = {"a": server("a", "active", t0, t0)}
    until = [t0 + timedelta(minutes=1)]
    first_one, second_one = reconciler(nova, until), reconciler(nova, until)
    first_one.reconcile(REGION)
    changed = datetime.now(UTC) + timedelta(seconds=1)
    nova.servers["a"] = server("a", "suspended", changed, t0)
    until[0] = changed + timedelta(minutes=1)
    first_one.reconcile(REGION)
    # as if the second had read the state before the first wrote it
    ServerState.objects.update(vm_state="active", changed_at=t0)
    second_one.reconcile(REGION)
    assert reported() == [("a", "SUSPEND", "reconcile")]


def test_nothing_is_judged_while_the_region_is_not_listening(nova):
    nova.servers = {"a": server("a", "active", datetime.now(UTC), datetime.now(UTC))}
    assert reconciler(nova, [None]).reconcile(REGION) == 0
    assert nova.asked == []


@pytest.mark.parametrize(
    ("before", "now", "kind"),
    [
        ("active", "stopped", Kind.POWER_OFF),
        ("stopped", "active", Kind.POWER_ON),
        ("paused", "active", Kind.UNPAUSE),
        ("active", "deleted", Kind.DELETE),
        (None, "active", Kind.CREATE),
        ("active", "error", Kind.ERROR),
        ("soft-delete", "active", Kind.RESTORE),
    ],
)
def test_a_change_of_vm_state_means_a_kind(before, now, kind):
    assert kind_of_change(before, now) is kind
