"""The listener's ONAP ids and Prometheus counters, in-process."""

from __future__ import annotations

import logging
import uuid

import pytest

from listener import metrics
from listener.consumer import HANDLED, Endpoint, filters_from
from listener.mr import MessageRouter
from listener.publisher import Publisher
from multicloud.events.models import Event
from multicloud.events.subscriptions import Router
from multicloud.transaction import LogFilter
from tests.doubles.dmaap_mr import FakeMessageRouter
from tests.nova_corpus import args, first

pytestmark = pytest.mark.django_db


def endpoint() -> Endpoint:
    router = Router(("PAUSE", "UNPAUSE"), "vm-events")
    return Endpoint("onap", "R1", router, filters_from("unversioned", ("END",)), sleep=lambda s: 0)


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
    assert info(endpoint(), first("compute.instance.pause.end"), ctxt) == HANDLED
    assert Event.objects.get().message["request_id"] == ours


def test_without_a_global_id_nova_s_own_or_the_message_id_is_used():
    ep = endpoint()
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
        endpoint().info({"global_request_id": "req-r1"}, publisher, event_type, payload, {})
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
    ep = endpoint()
    pause = first("compute.instance.pause.end")
    info(ep, pause, {})
    info(ep, pause, {})  # redelivered
    info(ep, first("compute.instance.pause.start"), {})  # a phase nobody wants
    assert metrics.RECEIVED._value.get() - before["received"] == 3
    assert metrics.STORED._value.get() - before["stored"] == 1
    assert metrics.DROPPED.labels("duplicate")._value.get() - before["duplicate"] == 1
    assert metrics.DROPPED.labels("unsubscribed")._value.get() - before["unsubscribed"] == 1


def test_a_publish_carries_the_event_s_request_id_to_message_router():
    ours = str(uuid.uuid4())
    info(endpoint(), first("compute.instance.pause.end"), {"global_request_id": f"req-{ours}"})
    with FakeMessageRouter() as mr:
        publisher = Publisher(MessageRouter(mr.url, timeout=2.0), 10, 0.01, 0.05)
        published = metrics.PUBLISHED.labels("vm-events")._value.get()
        assert publisher.run_once()
        assert mr.received_headers["X-ONAP-RequestID"] == ours
        assert mr.received_headers["X-ONAP-PartnerName"] == "multicloud"
        assert [m["request_id"] for m in mr.messages("vm-events")] == [ours]
        assert metrics.PUBLISHED.labels("vm-events")._value.get() - published == 1
