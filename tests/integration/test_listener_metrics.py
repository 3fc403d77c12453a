"""run_listener's metrics port and request ids, against real RabbitMQ and the MR double."""

from __future__ import annotations

import uuid

import pytest
import requests
from oslo_context.context import RequestContext

from tests.doubles.dmaap_mr import FakeMessageRouter
from tests.integration.rabbit import (
    Database,
    ListenerProcess,
    Nova,
    expected_seqs,
    published_seqs,
    seq_corpus,
    wait_until,
)
from tests.metrics_text import value
from tests.servers import free_port

TOPIC = "unauthenticated.MULTICLOUD_VM_EVENTS"


@pytest.fixture
def mr():
    with FakeMessageRouter() as router:
        yield router


@pytest.fixture
def listener(tmp_path, broker, mr):
    db = Database(tmp_path)
    process = ListenerProcess(
        ListenerProcess.environment(tmp_path, db, broker, mr.url), tmp_path / "listener.log"
    )
    process.migrate()
    yield process
    process.ensure_stopped()
    db.drop()


def scrape(port: int) -> str:
    answer = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert answer.status_code == 200
    return answer.text


REASONS = ("ignored", "other_format", "malformed", "unsubscribed", "duplicate")


def handled(text: str) -> float:
    """Notifications stored or dropped."""
    dropped = sum(
        value(text, "multicloud_listener_notifications_dropped_total", reason=reason)
        for reason in REASONS
    )
    return dropped + value(text, "multicloud_listener_notifications_stored_total")


@pytest.mark.timeout(180)
def test_the_metrics_port_counts_notifications_and_publishes(broker, listener, mr):
    port = free_port()
    listener.start(broker, args=("--metrics-port", str(port), "--metrics-host", "127.0.0.1"))
    nova = Nova(broker.nova_url)
    request_id = str(uuid.uuid4())
    # NOTE: what Nova passes: a RequestContext (oslo.messaging drops plain dict contexts).
    nova.context = RequestContext(global_request_id=f"req-{request_id}")
    try:
        items = seq_corpus(120)
        expected = expected_seqs(items)
        mr.down()
        assert nova.send_all(items) == 120
        # NOTE: "received" is counted when handling starts: wait until all were decided.
        wait_until(lambda: handled(scrape(port)) == 120, 60, "120 notifications handled")
        text = scrape(port)
        assert value(text, "multicloud_listener_notifications_received_total") == 120
        stored = value(text, "multicloud_listener_notifications_stored_total")
        assert stored == len(expected)
        wait_until(
            lambda: value(scrape(port), "multicloud_listener_outbox_depth") == stored,
            30,
            "outbox depth",
        )
        assert value(scrape(port), "multicloud_listener_outbox_oldest_age_seconds") > 0
        mr.up()
        wait_until(lambda: expected <= set(published_seqs(mr.messages(TOPIC))), 60, "published")
        wait_until(
            lambda: value(scrape(port), "multicloud_listener_outbox_depth") == 0,
            30,
            "outbox drained",
        )
        # NOTE: the publisher's process reports its counts every 0.2 s: wait for the last.
        wait_until(
            lambda: (
                value(scrape(port), "multicloud_listener_events_published_total", topic=TOPIC)
                >= stored
            ),
            30,
            "the publisher's counts",
        )
        text = scrape(port)
        assert value(text, "multicloud_listener_events_published_total", topic=TOPIC) == stored
        assert value(text, "multicloud_listener_events_publish_failed_total", topic=TOPIC) > 0
        assert value(text, "multicloud_listener_outbox_oldest_age_seconds") == 0
        assert (
            value(
                text, "multicloud_upstream_requests_total", service="message_router", outcome="2xx"
            )
            > 0
        )
    finally:
        nova.close()
    # Each event carries the request id of the notification it came from, and so does
    # the publish that carried it.
    assert {m["request_id"] for m in mr.messages(TOPIC)} == {request_id}
    assert mr.publish_headers["X-ONAP-RequestID"] == request_id
    assert listener.terminate() == 0
