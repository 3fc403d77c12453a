"""The notification endpoint: what is kept, what is acked, and requeue on database trouble."""

from __future__ import annotations

import logging
import uuid
from unittest import mock

import pytest
from django.db import OperationalError

from listener import consumer, metrics
from listener.consumer import HANDLED, REQUEUE, Endpoint, filters_from
from multicloud.events.models import Event, InboundDeadLetter
from multicloud.events.subscriptions import Router
from multicloud.transaction import LogFilter
from tests.nova_corpus import args, first, replay

pytestmark = pytest.mark.django_db
ALL_KINDS = ("CREATE", "DELETE", "POWER_OFF", "POWER_ON", "PAUSE", "UNPAUSE", "SHUT_DOWN", "UPDATE")


def endpoint(prefer="unversioned", phases=("END", "ERROR"), kinds=ALL_KINDS, **kw) -> Endpoint:
    router = Router(kinds, "vm-events")
    return Endpoint("onap", "R1", router, filters_from(prefer, phases), sleep=lambda s: None, **kw)


def test_a_wanted_event_is_stored_before_it_is_acknowledged():
    ep = endpoint()
    assert ep.handle(*args(first("compute.instance.pause.end"))) == HANDLED
    row = Event.objects.get()
    assert row.kind == "PAUSE" and row.topics == ["vm-events"]
    assert ep.counters["stored"] == 1


def test_a_redelivered_notification_is_acknowledged_and_not_stored_twice():
    ep = endpoint()
    item = first("compute.instance.pause.end")
    assert ep.handle(*args(item)) == HANDLED
    assert ep.handle(*args(item)) == HANDLED
    assert Event.objects.count() == 1 and ep.counters["duplicate"] == 1


@pytest.mark.parametrize(
    ("prefer", "kept"), [("unversioned", "compute.instance."), ("versioned", "instance.")]
)
def test_one_vm_action_gives_one_event_when_nova_sends_both_formats(prefer, kept):
    ep = endpoint(prefer=prefer)
    for item in replay(66):
        assert ep.handle(*args(item)) == HANDLED
    types = list(Event.objects.values_list("event_type", flat=True))
    assert types and all(t.startswith(kept) for t in types)
    kinds = [t.rsplit(".", 2)[-2] for t in types]
    assert sorted(kinds) == sorted(set(kinds))  # each action once
    assert {"create", "delete", "pause", "unpause", "power_off", "power_on", "shutdown"} == set(
        kinds
    )


def test_start_phases_are_only_kept_on_request():
    assert endpoint().handle(*args(first("compute.instance.pause.start"))) == HANDLED
    assert not Event.objects.exists()
    endpoint(phases=("START",)).handle(*args(first("compute.instance.pause.start")))
    assert Event.objects.get().phase == "START"


def test_events_nobody_subscribed_to_are_acknowledged_and_counted_not_stored():
    ep = endpoint(kinds=("DELETE",))
    assert ep.handle(*args(first("compute.instance.pause.end"))) == HANDLED
    assert ep.handle(*args(first("scheduler.select_destinations.end"))) == HANDLED
    assert not Event.objects.exists()
    assert ep.counters["unsubscribed"] == 1 and ep.counters["ignored"] == 1


def deep(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"x": value}
    return value


def poisoned(kind: str) -> dict:
    item = first("compute.instance.pause.end")
    payload = dict(item["payload"])
    if kind == "no message_id":
        item["metadata"] = {}
    elif kind == "too deep":
        payload["metadata"] = deep(5000)
    elif kind == "NaN":
        payload["memory_mb"] = float("nan")
    elif kind == "NUL":
        payload["display_name"] = "vm\x00one"
    return {**item, "payload": payload}


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("no message_id", "malformed"),
        ("too deep", "malformed: RecursionError"),
        ("NaN", "NaN or Infinity"),
        ("NUL", "\\u0000"),
    ],
)
def test_poison_is_parked_once_with_the_reason_and_acknowledged(kind, reason):
    ep = endpoint()
    item = poisoned(kind)
    for _ in range(3):  # redelivered: parked once
        assert ep.handle(*args(item)) == HANDLED
    parked = InboundDeadLetter.objects.get()
    assert reason in parked.reason and parked.vim_id == "onap_R1"
    assert "_context" not in parked.notification and not Event.objects.exists()
    assert ep.handle(*args(first("compute.instance.unpause.end"))) == HANDLED
    assert Event.objects.count() == 1  # the others keep flowing


def test_a_batch_with_poison_stores_the_others_in_one_go():
    ep = endpoint()
    good = [first("compute.instance.pause.end"), first("compute.instance.unpause.end")]
    batch = [good[0], poisoned("NaN"), good[1]]
    messages = [
        dict(zip(("publisher_id", "event_type", "payload", "metadata"), args(i)[1:], strict=True))
        for i in batch
    ]
    assert ep.handle_batch("INFO", messages) == HANDLED
    assert Event.objects.count() == 2 and InboundDeadLetter.objects.count() == 1
    assert ep.counters["stored"] == 2 and ep.counters["parked"] == 1


@pytest.mark.django_db(transaction=True)  # the endpoint closes the broken connection
def test_it_requeues_after_a_bounded_backoff_when_the_outbox_is_down():
    slept = []
    ep = Endpoint(
        "onap",
        "R1",
        Router(ALL_KINDS, "t"),
        filters_from("unversioned", ["END"]),
        db_retry_max=0.5,
        sleep=slept.append,
    )
    broken = mock.patch.object(
        consumer.outbox,
        "accept_many",
        autospec=True,
        side_effect=OperationalError("server closed the connection"),
    )
    with broken:
        results = [ep.handle(*args(first("compute.instance.pause.end"))) for _ in range(8)]
    assert results == [REQUEUE] * 8
    assert slept[0] == pytest.approx(0.1) and max(slept) == 0.5
    assert ep.counters["requeued"] == 8
    assert ep.handle(*args(first("compute.instance.pause.end"))) == HANDLED


def test_the_endpoint_reads_nothing_but_the_request_ids_of_the_context():
    class Untouchable:
        def __getattr__(self, name):
            if name in ("global_request_id", "request_id"):
                raise AttributeError(name)
            raise AssertionError(f"ctxt.{name} was read")

        def __getitem__(self, name):
            raise AssertionError("ctxt was read")

    item = first("compute.instance.pause.end")
    assert endpoint().info(Untouchable(), *args(item)[1:]) == HANDLED


def test_subscriptions_stored_for_the_region_route_events_to_their_topics():
    from multicloud.events import subscriptions

    subscriptions.subscribe("onap", "R1", {"states": ["PAUSE"], "topic": "pauses"})
    ep = Endpoint(
        "onap", "R1", Router(), filters_from("unversioned", ["END"]), sleep=lambda s: None
    )
    ep.handle(*args(first("compute.instance.pause.end")))
    ep.handle(*args(first("compute.instance.unpause.end")))
    assert list(Event.objects.values_list("kind", "topics")) == [("PAUSE", ["pauses"])]


def test_it_warns_once_when_only_the_other_nova_format_arrives_for_a_while(caplog):
    now = [0.0]
    ep = endpoint(prefer="unversioned", clock=lambda: now[0])
    for step in range(5):
        now[0] = step * 20.0
        ep.handle(*args(first("instance.pause.end")))
    warnings = [r for r in caplog.records if "MULTICLOUD_EVENTS_PREFER_FORMAT" in r.message]
    assert len(warnings) == 1 and ep.counters["other_format"] == 5
    assert not Event.objects.exists()


def test_no_format_warning_when_the_preferred_format_comes_second_after_a_restart(caplog):
    now = [0.0]
    ep = endpoint(prefer="unversioned", clock=lambda: now[0])
    ep.handle(*args(first("instance.pause.end")))  # the versioned queue drained first
    now[0] = 30.0
    ep.handle(*args(first("compute.instance.pause.end")))
    now[0] = 300.0
    ep.handle(*args(first("instance.unpause.end")))
    assert "MULTICLOUD_EVENTS_PREFER_FORMAT" not in caplog.text


@pytest.mark.django_db(transaction=True)  # the endpoint closes the connection on a requeue
def test_an_unexpected_failure_is_logged_and_requeued_not_dropped(caplog):
    ep = endpoint()
    item = first("compute.instance.pause.end")
    bug = mock.patch.object(
        consumer.outbox, "accept_many", autospec=True, side_effect=KeyError("bug")
    )
    with bug:
        assert ep.handle(*args(item)) == REQUEUE
    assert "failed on a batch of 1" in caplog.text
    assert ep.handle(*args(item)) == HANDLED
    assert Event.objects.count() == 1


@pytest.mark.django_db(transaction=True)  # the endpoint closes the connection on a requeue
def test_a_notification_failing_the_same_way_every_time_is_parked_after_bounded_requeues():
    ep = endpoint()
    item = first("compute.instance.pause.end")
    bug = mock.patch.object(
        consumer.outbox, "accept_many", autospec=True, side_effect=KeyError("bug")
    )
    with bug:
        results = [ep.handle(*args(item)) for _ in range(consumer.MAX_REQUEUES + 2)]
    assert results == [REQUEUE] * consumer.MAX_REQUEUES + [HANDLED, HANDLED]
    parked = InboundDeadLetter.objects.get()
    assert parked.reason.startswith(f"failed {consumer.MAX_REQUEUES + 1} times: KeyError")


# --------------------------------------------------------------------------- ONAP ids, metrics


def ids_endpoint() -> Endpoint:
    return endpoint(phases=("END",), kinds=("PAUSE", "UNPAUSE"))


def info(ep: Endpoint, item: dict, ctxt) -> str:
    priority, publisher, event_type, payload, metadata = args(item)
    return ep.info(ctxt, publisher, event_type, payload, metadata)


class _Context:
    """What oslo.messaging hands an endpoint: an object whose attributes are its keys."""

    def __init__(self, **values):
        self.values = values

    def __getattr__(self, name):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


@pytest.mark.parametrize("wrap", [dict, lambda d: _Context(**d)])
def test_an_event_carries_the_request_id_of_its_notification(wrap):
    ours = str(uuid.uuid4())
    ctxt = wrap({"global_request_id": f"req-{ours}", "request_id": "req-nova-own"})
    assert info(ids_endpoint(), first("compute.instance.pause.end"), ctxt) == HANDLED
    assert Event.objects.get().message["request_id"] == ours


def test_without_a_global_id_nova_s_own_or_the_message_id_is_used():
    ep = ids_endpoint()
    info(ep, first("compute.instance.pause.end"), {"request_id": "req-abc"})
    item = first("compute.instance.unpause.end")
    info(ep, item, {})
    ids = {row.kind: row.message["request_id"] for row in Event.objects.all()}
    assert ids == {"PAUSE": "abc", "UNPAUSE": item["metadata"]["message_id"]}


def test_log_lines_of_a_notification_carry_its_request_id():
    records = []
    handler = logging.Handler()
    handler.addFilter(LogFilter())
    handler.emit = records.append
    logging.getLogger("listener").addHandler(handler)
    try:
        item = first("compute.instance.pause.end")
        priority, publisher, event_type, payload, metadata = args(item)
        ids_endpoint().info({"global_request_id": "req-r1"}, publisher, event_type, payload, {})
    finally:
        logging.getLogger("listener").removeHandler(handler)
    (record,) = [r for r in records if "malformed" in r.getMessage()]
    assert record.request_id == "r1"


def test_counters_move_by_what_happened():
    before = {
        "received": metrics.RECEIVED._value.get(),
        "stored": metrics.STORED._value.get(),
        "unsubscribed": metrics.DROPPED.labels("unsubscribed")._value.get(),
        "duplicate": metrics.DROPPED.labels("duplicate")._value.get(),
    }
    ep = ids_endpoint()
    pause = first("compute.instance.pause.end")
    info(ep, pause, {})
    info(ep, pause, {})  # redelivered
    info(ep, first("compute.instance.pause.start"), {})  # a phase nobody wants
    assert metrics.RECEIVED._value.get() - before["received"] == 3
    assert metrics.STORED._value.get() - before["stored"] == 1
    assert metrics.DROPPED.labels("duplicate")._value.get() - before["duplicate"] == 1
    assert metrics.DROPPED.labels("unsubscribed")._value.get() - before["unsubscribed"] == 1
