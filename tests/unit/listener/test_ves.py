"""The VES sink against the VES collector double (every event checked against the VES 7.x
schema): mapping, batches, alarms, retries, dead letters, isolation from Message Router."""

from __future__ import annotations

import time

import pytest

from listener import outbox
from listener.mr import MessageRouter
from listener.notifications import parse
from listener.publisher import Publisher
from listener.ves import VesCollector, epoch_micros
from multicloud.events.models import Delivery, Event
from tests.doubles.dmaap_mr import FakeMessageRouter
from tests.doubles.ves_collector import BATCH, SINGLE, FakeVesCollector
from tests.nova_corpus import args, first, replay

pytestmark = pytest.mark.django_db
VES = ("ves", "ves")
TOPIC = "unauthenticated.MULTICLOUD_VM_EVENTS"


@pytest.fixture
def ves():
    with FakeVesCollector() as collector:
        yield collector


def publisher_for(collector: FakeVesCollector, mr: FakeMessageRouter | None = None, **kw):
    sinks = {
        "ves": VesCollector(
            collector.url,
            *kw.pop("auth", ()),
            ca_file=kw.pop("ca_file", ""),
            timeout=2.0,
            reporting_entity="multicloud-test",
        )
    }
    if mr is not None:
        sinks["message-router"] = MessageRouter(mr.url, timeout=2.0)
    return Publisher(
        sinks, batch_size=kw.pop("batch_size", 100), retry_min=0.01, retry_max=0.05, **kw
    )


def store(n: int, routes=(VES,), initiator: str = "user") -> list:
    events = []
    for item in replay(max(n * 20, 200)):
        event = parse(*args(item), initiator=initiator)
        if event is None or not event.event_type.startswith("compute.instance."):
            continue
        outbox.accept_many([outbox.Accepted(event, "onap", "R1", tuple(routes))])
        events.append(event)
        if len(events) == n:
            return events
    raise AssertionError("corpus too small")


def drain(publisher: Publisher, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while Delivery.objects.filter(status="pending").exists():
        assert time.monotonic() < deadline, f"still pending: {outbox.counts()}"
        if not publisher.run_once():
            time.sleep(0.01)


def test_each_event_becomes_one_schema_valid_ves_event_batched_when_more_than_one(ves):
    events = store(7)
    drain(publisher_for(ves, batch_size=5))
    got = ves.events()
    assert [e["commonEventHeader"]["eventId"] for e in got] == [e.message_id for e in events]
    assert ves.requests() == [(BATCH, 202), (BATCH, 202)]
    header = got[0]["commonEventHeader"]
    event = events[0]
    assert header["sourceId"] == event.instance_id
    assert header["sourceName"] == event.payload["display_name"]
    assert header["reportingEntityName"] == "multicloud-test"
    assert header["startEpochMicrosec"] == epoch_micros(event.timestamp)
    assert header["vesEventListenerVersion"].startswith("7.")
    assert {e["commonEventHeader"]["domain"] for e in got} <= {"stateChange", "fault"}
    change = next(e for e in got if e["commonEventHeader"]["domain"] == "stateChange")
    fields = change["stateChangeFields"]
    assert fields["additionalFields"]["eventSourceType"] == "virtualMachine"
    assert fields["additionalFields"]["vim_id"] == "onap_R1"
    assert outbox.counts()["published"] == 7


def test_a_single_event_goes_to_the_single_event_endpoint(ves):
    store(1)
    drain(publisher_for(ves))
    assert [path for path, _ in ves.requests()] == [SINGLE]


def accept(item: dict, initiator: str = "user") -> None:
    event = parse(*args(item), initiator=initiator)
    outbox.accept_many([outbox.Accepted(event, "onap", "R1", (VES,))])


def test_an_error_raises_a_fault_and_the_server_back_in_service_clears_it(ves):
    power_off = first("compute.instance.power_off.end")
    power_on = first("compute.instance.power_on.end")
    power_on["payload"] = {
        **power_on["payload"],
        "instance_id": power_off["payload"]["instance_id"],
    }
    accept(power_off, initiator="system")  # Nova stopped it on its own
    accept(power_on)
    accept(first("compute.instance.pause.end"))
    error = {**first("compute.instance.create.end"), "event_type": "compute.instance.create.error"}
    accept({**error, "priority": "ERROR"})
    drain(publisher_for(ves))
    got = ves.events()
    raised, cleared, paused = got[:3]
    assert raised["commonEventHeader"]["domain"] == "fault"
    assert raised["commonEventHeader"]["eventName"] == "Fault_MultiCloud_VMFailure"
    assert raised["faultFields"]["eventSeverity"] == "CRITICAL"
    assert raised["faultFields"]["eventSourceType"] == "virtualMachine"
    assert cleared["commonEventHeader"]["eventName"] == "Fault_MultiCloud_VMFailureCleared"
    assert cleared["faultFields"]["eventSeverity"] == "NORMAL"
    assert paused["commonEventHeader"]["domain"] == "stateChange"
    assert paused["stateChangeFields"]["newState"] == "outOfService"
    assert got[3]["faultFields"]["eventSeverity"] == "MAJOR"


def test_a_user_s_power_off_is_a_state_change_not_a_fault(ves):
    accept(first("compute.instance.power_off.end"), initiator="user")
    drain(publisher_for(ves))
    (event,) = ves.events()
    assert event["commonEventHeader"]["domain"] == "stateChange"
    assert event["stateChangeFields"]["oldState"] == "inService"


def test_the_collector_busy_is_retried_and_a_refusal_dead_lettered(ves):
    events = store(3)
    ves.fail_next(2, 503)
    drain(publisher_for(ves))
    assert [e["commonEventHeader"]["eventId"] for e in ves.events()] == [
        e.message_id for e in events
    ]
    Delivery.objects.all().delete()
    Event.objects.all().delete()
    store(2)
    ves.fail_next(1, 401)
    drain(publisher_for(ves))
    assert outbox.counts()["dead"] == 2


def test_an_event_the_collector_refuses_is_dead_lettered_alone(ves):
    events = store(4)
    from listener import ves as module

    real = module.to_ves

    def broken(message, entity):
        event = real(message, entity)
        if message["message_id"] == events[1].message_id:
            event["commonEventHeader"]["sequence"] = "not a number"
        return event

    module.to_ves = broken
    try:
        drain(publisher_for(ves))
    finally:
        module.to_ves = real
    assert {e["commonEventHeader"]["eventId"] for e in ves.events()} == {
        e.message_id for e in events
    } - {events[1].message_id}
    dead = Delivery.objects.get(status="dead")
    assert dead.event.message_id == events[1].message_id
    assert "HTTP 400 ServiceException SVC0002" in dead.last_error


def test_basic_auth_over_https():
    with FakeVesCollector(tls=True, basic_auth=("ves", "s3cret")) as secure:
        events = store(2)
        drain(publisher_for(secure, auth=("ves", "s3cret"), ca_file=secure.ca_file))
        assert len(secure.events()) == len(events)


def test_the_collector_down_holds_back_only_its_own_queue(ves):
    with FakeMessageRouter() as mr:
        events = store(5, routes=(VES, ("message-router", TOPIC)))
        ves.down()
        publisher = publisher_for(ves, mr)
        for _ in range(3):
            publisher.run_once()
        assert [m["message_id"] for m in mr.messages(TOPIC)] == [e.message_id for e in events]
        assert Delivery.objects.filter(sink="ves", status="pending").count() == 5
        ves.up()
        Delivery.objects.update(next_attempt_at=Delivery.objects.first().created_at)
        drain(publisher)
        assert len(ves.events()) == 5
