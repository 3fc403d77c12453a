"""The publisher against the DMaaP Message Router double: retry, split, dead-letter, order."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from django.utils import timezone

from listener import metrics, outbox
from listener.consumer import Endpoint, filters_from
from listener.mr import MessageRouter
from listener.notifications import parse
from listener.publisher import Publisher
from multicloud.events import service
from multicloud.events.models import Delivery, Event
from multicloud.events.subscriptions import Router
from tests.doubles.dmaap_mr import FakeMessageRouter
from tests.nova_corpus import args, first, replay

pytestmark = pytest.mark.django_db
TOPIC = "unauthenticated.MULTICLOUD_VM_EVENTS"


@pytest.fixture
def mr():
    with FakeMessageRouter() as router:
        yield router


def publisher_for(mr: FakeMessageRouter, **kw) -> Publisher:
    client = MessageRouter(
        mr.url, *kw.pop("auth", ()), ca_file=kw.pop("ca_file", ""), timeout=kw.pop("timeout", 2.0)
    )
    return Publisher(
        client, batch_size=kw.pop("batch_size", 100), retry_min=0.01, retry_max=0.05, **kw
    )


def store(n: int, topics=(TOPIC,), region: str = "R1") -> list[str]:
    ids = []
    for item in replay(max(n * 3, 200)):
        event = parse(*args(item))
        if event is None:
            continue
        outbox.accept(event, "onap", region, list(topics))
        ids.append(event.message_id)
        if len(ids) == n:
            return ids
    raise AssertionError("corpus too small")


def drain(publisher: Publisher, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while Event.objects.filter(status="pending").exists():
        assert time.monotonic() < deadline, f"still pending: {outbox.counts()}"
        if not publisher.run_once():
            time.sleep(0.01)


def published_ids(mr: FakeMessageRouter, topic: str = TOPIC) -> list[str]:
    return [m["message_id"] for m in mr.messages(topic)]


def test_events_are_published_as_json_arrays_in_order(mr):
    ids = store(25)
    publisher = publisher_for(mr, batch_size=10)
    drain(publisher)
    assert published_ids(mr) == ids
    assert mr.publish_requests == 3
    assert publisher.counters["published"] == 25
    assert outbox.counts() == {"pending": 0, "published": 25, "dead": 0}


def test_the_message_carries_the_envelope_and_no_context(mr):
    store(5)
    drain(publisher_for(mr))
    for message in mr.messages(TOPIC):
        assert {
            "event_type",
            "kind",
            "cloud_owner",
            "cloud_region_id",
            "message_id",
            "timestamp",
            "vim_id",
            "instance_id",
        } <= set(message)
        assert message["cloud_owner"] == "onap" and message["cloud_region_id"] == "R1"
    assert "_context" not in json.dumps(mr.messages(TOPIC))


@pytest.mark.parametrize("status", [503, 500, 429, 404, 504])
def test_a_retryable_answer_is_retried_until_it_is_published(mr, status):
    ids = store(10)
    mr.fail_next(3, status=status)
    publisher = publisher_for(mr)
    drain(publisher)
    assert published_ids(mr) == ids
    assert publisher.counters["retried"] == 30


def test_message_router_down_for_a_while_loses_and_duplicates_nothing(mr):
    ids = store(40)
    mr.down()
    publisher = publisher_for(mr, batch_size=7)
    for _ in range(5):
        publisher.run_once()
        time.sleep(0.02)
    assert published_ids(mr) == []
    mr.up()
    drain(publisher)
    assert published_ids(mr) == ids


def test_a_connection_reset_before_storing_is_retried(mr):
    ids = store(10)
    mr.reset_next(2)
    drain(publisher_for(mr))
    assert published_ids(mr) == ids


def test_a_partial_publish_resends_only_what_was_not_stored(mr):
    ids = store(10)
    mr.partial_publish_next(4)
    drain(publisher_for(mr))
    assert published_ids(mr) == ids


def test_a_batch_too_large_is_split_until_it_fits(mr):
    ids = store(20)
    mr.max_batch_messages(3)
    publisher = publisher_for(mr, batch_size=20)
    drain(publisher)
    assert published_ids(mr) == ids
    assert publisher.counters["splits"] > 0


def test_a_single_message_too_large_is_dead_lettered_and_the_rest_published(mr, caplog):
    ids = store(6)
    Event.objects.filter(message_id=ids[2]).update(
        message={"message_id": ids[2], "blob": "x" * 5000}
    )
    mr.max_message_bytes(4000)
    publisher = publisher_for(mr)
    drain(publisher)
    assert published_ids(mr) == ids[:2] + ids[3:]
    dead = Event.objects.get(message_id=ids[2])
    assert dead.status == "dead" and "HTTP 413" in dead.last_error
    assert publisher.counters["dead"] == 1
    assert "DEAD-LETTERED" in caplog.text and ids[2] in caplog.text


@pytest.mark.parametrize("status", [401, 403])
def test_a_refusal_is_dead_lettered_not_retried(mr, status):
    store(3)
    mr.fail_next(1, status=status)
    publisher = publisher_for(mr)
    drain(publisher)
    assert outbox.counts()["dead"] == 3
    assert mr.publish_requests == 1


def test_a_slow_router_that_times_out_is_retried_at_least_once(mr):
    ids = store(3)
    mr.slow(1.0)
    publisher = publisher_for(mr, timeout=0.3)
    publisher.run_once()
    mr.slow(0)
    drain(publisher)
    # NOTE: MR stored the timed-out request too: at-least-once, consumers dedup on message_id.
    assert set(published_ids(mr)) == set(ids)
    assert published_ids(mr)[-3:] == ids


def test_basic_auth_over_https_with_the_configured_ca():
    with FakeMessageRouter(tls=True, basic_auth=("mc", "s3cret")) as router:
        ids = store(4)
        publisher = publisher_for(router, auth=("mc", "s3cret"), ca_file=router.ca_file)
        drain(publisher)
        assert published_ids(router) == ids


def test_wrong_credentials_dead_letter_without_showing_the_password(mr, caplog):
    with FakeMessageRouter(basic_auth=("mc", "right")) as router:
        store(1)
        drain(publisher_for(router, auth=("mc", "wrong-pass")))
        assert outbox.counts()["dead"] == 1
    assert "wrong-pass" not in caplog.text
    assert "wrong-pass" not in Event.objects.get().last_error


def test_each_topic_gets_its_copy(mr):
    ids = store(5, topics=("a", "b"))
    drain(publisher_for(mr))
    assert published_ids(mr, "a") == ids and published_ids(mr, "b") == ids


def test_regions_are_published_independently(mr):
    r1 = store(3, region="R1")
    r2 = store(3, region="R2")
    drain(publisher_for(mr))
    got = published_ids(mr)
    assert sorted(got) == sorted(r1 + r2)
    assert [i for i in got if i in r1] == r1 and [i for i in got if i in r2] == r2


def test_two_publishers_never_publish_an_event_twice(mr):
    ids = store(60)
    first, second = publisher_for(mr, batch_size=5), publisher_for(mr, batch_size=5)
    deadline = time.monotonic() + 10
    while Event.objects.filter(status="pending").exists():
        assert time.monotonic() < deadline
        first.run_once()
        second.run_once()
    assert published_ids(mr) == ids


def test_the_publisher_thread_survives_a_failing_round_and_stops_on_request(mr, monkeypatch):
    import threading

    from listener import publisher as module

    calls = []

    def broken(vim_id, topic, sink):
        calls.append(1)
        raise RuntimeError("bug")

    publisher = publisher_for(mr)
    monkeypatch.setattr(publisher, "publish_queue", broken)
    monkeypatch.setattr(
        module.outbox, "pending_queues", lambda: [("onap_R1", "message-router", TOPIC)]
    )
    monkeypatch.setattr(module, "close_old_connections", lambda: None)
    thread = threading.Thread(target=publisher.run)
    thread.start()
    deadline = time.monotonic() + 5
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    publisher.stop()
    thread.join(5)
    assert len(calls) >= 2 and not thread.is_alive()


def test_a_topic_message_router_refuses_never_holds_back_the_other_topics(mr, caplog):
    ids = store(30, topics=("unauthenticated.BAD", TOPIC))
    mr.fail_topic("unauthenticated.BAD", 404)
    publisher = publisher_for(mr, batch_size=10)
    for _ in range(6):
        publisher.run_once()
    assert published_ids(mr) == ids
    assert Delivery.objects.filter(topic="unauthenticated.BAD", status="pending").count() == 30
    # NOTE: logged once when the queue started failing, not once per retry.
    assert caplog.text.count("topic unauthenticated.BAD: HTTP 404") == 1


def test_a_topic_that_keeps_failing_is_dead_lettered_and_visible_to_pollers(mr, caplog):
    ids = store(3, topics=("unauthenticated.BAD", TOPIC))
    mr.fail_topic("unauthenticated.BAD", 503)
    publisher = publisher_for(mr, give_up=outbox.GiveUp(max_attempts=3))
    drain(publisher)
    assert published_ids(mr) == ids
    assert outbox.counts()["dead"] == 3
    assert caplog.text.count("DEAD-LETTERED") == 3 and "gave up after 3 attempts" in caplog.text
    polled = service.events_since("onap", "R1", None, None, 10)
    assert polled[0]["delivery"]["dead_topics"] == ["unauthenticated.BAD"]
    assert "gave up after 3 attempts" in polled[0]["delivery"]["errors"]["unauthenticated.BAD"]


@pytest.mark.django_db(transaction=True)
def test_a_topic_that_hangs_does_not_delay_the_others_in_the_running_publisher(mr):
    import threading

    ids = store(20, topics=("unauthenticated.SLOW", TOPIC))
    mr.fail_topic("unauthenticated.SLOW", None, delay=30)
    publisher = publisher_for(mr, timeout=20, batch_size=5)
    thread = threading.Thread(target=publisher.run)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while len(published_ids(mr)) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert published_ids(mr) == ids
    finally:
        mr.fail_topic("unauthenticated.SLOW", None, delay=0)
        publisher.stop()
        mr.stop()
        thread.join(10)
    assert not thread.is_alive()


def test_the_start_line_masks_a_password_in_the_message_router_url(mr, caplog, monkeypatch):
    from listener import publisher as module

    monkeypatch.setattr(module, "close_old_connections", lambda: None)
    url = mr.url.replace("://", "://mr-user:mr-s3cret@")
    publisher = Publisher(MessageRouter(url, timeout=2.0), batch_size=10)
    publisher.stop()
    with caplog.at_level("INFO", logger="listener.publisher"):
        publisher.run()
    assert "mr-user:***@" in caplog.text and "mr-s3cret" not in caplog.text


def test_a_publish_carries_the_event_s_request_id_to_message_router(mr):
    ours = str(uuid.uuid4())
    router = Router(("PAUSE",), TOPIC)
    endpoint = Endpoint("onap", "R1", router, filters_from("unversioned", ("END",)))
    _, sender, event_type, payload, metadata = args(first("compute.instance.pause.end"))
    endpoint.info({"global_request_id": f"req-{ours}"}, sender, event_type, payload, metadata)
    published = metrics.PUBLISHED.labels(TOPIC)._value.get()
    assert publisher_for(mr).run_once()
    assert mr.received_headers["X-ONAP-RequestID"] == ours
    assert mr.received_headers["X-ONAP-PartnerName"] == "multicloud"
    assert [m["request_id"] for m in mr.messages(TOPIC)] == [ours]
    assert metrics.PUBLISHED.labels(TOPIC)._value.get() - published == 1


@pytest.mark.django_db(transaction=True)
def test_publishing_resumes_within_about_a_second_of_message_router_coming_back(mr):
    import threading

    ids = store(5)
    mr.down()
    publisher = Publisher(MessageRouter(mr.url, timeout=2.0), retry_min=4.0, retry_max=60.0)
    thread = threading.Thread(target=publisher.run)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not Delivery.objects.filter(attempts__gte=1).exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        waiting = Delivery.objects.first().next_attempt_at - timezone.now()
        assert waiting.total_seconds() > 2.5  # the backoff alone would wait that long
        mr.up()
        came_back = time.monotonic()
        while len(published_ids(mr)) < 5:
            assert time.monotonic() - came_back < 10
            time.sleep(0.02)
        assert time.monotonic() - came_back < 2.0
        assert published_ids(mr) == ids
    finally:
        publisher.stop()
        thread.join(10)
