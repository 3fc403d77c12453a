"""The outbox: idempotent acceptance, ordered claims with leases, settling a round."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from listener import outbox
from listener.notifications import parse
from multicloud.events import service
from multicloud.events.models import Delivery, Event
from tests.nova_corpus import args, replay

pytestmark = pytest.mark.django_db
MR = "message-router"


def legacy_events(n: int):
    found = []
    for item in replay(max(n * 20, 200)):
        event = parse(*args(item))
        if (
            event
            and event.event_type.startswith("compute.instance.")
            and event.event_type.endswith(".end")
        ):
            found.append(event)
        if len(found) == n:
            return found
    raise AssertionError("corpus too small")


def test_an_event_is_stored_once_however_often_nova_redelivers_it():
    event = legacy_events(1)[0]
    assert outbox.accept(event, "onap", "R1", ["t"]) is True
    assert outbox.accept(event, "onap", "R1", ["t"]) is False
    assert Event.objects.count() == 1 and Delivery.objects.count() == 1
    row = Event.objects.get()
    assert row.status == "pending" and row.deliveries.get().topic == "t"
    assert row.message["message_id"] == event.message_id
    assert row.message["vim_id"] == "onap_R1"


def test_a_batch_is_stored_in_one_go_and_redeliveries_in_it_are_skipped():
    events = legacy_events(6)
    outbox.accept(events[0], "onap", "R1", ["t"])
    items = [outbox.Accepted(e, "onap", "R1", ("a", "b")) for e in events + events[:2]]
    assert outbox.accept_many(items) == 5
    assert Event.objects.count() == 6
    assert Delivery.objects.filter(topic="b").count() == 5


def test_a_batch_larger_than_one_insert_is_stored_whole_with_each_delivery_on_its_event(
    monkeypatch,
):
    monkeypatch.setattr(outbox, "ROWS_PER_INSERT", 3)
    events = legacy_events(7)
    items = [outbox.Accepted(e, "onap", "R1", ("a", "b")) for e in events]
    assert outbox.accept_many(items) == 7
    assert Event.objects.count() == 7 and Delivery.objects.count() == 14
    for row in Event.objects.all():
        assert sorted(row.deliveries.values_list("topic", flat=True)) == ["a", "b"]
        assert row.message["message_id"] == row.message_id


def test_the_same_nova_message_in_two_regions_is_two_events():
    event = legacy_events(1)[0]
    assert outbox.accept(event, "onap", "R1", ["t"])
    assert outbox.accept(event, "onap", "R2", ["t"])
    assert Event.objects.count() == 2


def test_no_context_or_token_is_stored():
    for event in legacy_events(5):
        outbox.accept(event, "onap", "R1", ["t"])
    stored = repr(list(Event.objects.values_list("message", flat=True)))
    assert "_context" not in stored and "auth_token" not in stored


def test_a_claim_takes_the_oldest_events_of_the_queue_in_nova_order():
    events = legacy_events(5)
    for event in reversed(events):  # stored out of order
        outbox.accept(event, "onap", "R1", ["t"])
    rows = outbox.claim("onap_R1", "t", "w1", 3, 60)
    assert [r.event.message_id for r in rows] == [e.message_id for e in events[:3]]
    assert all(r.claimed_by == "w1" for r in rows)


def test_a_claimed_queue_is_not_claimed_again_until_the_lease_runs_out():
    for event in legacy_events(4):
        outbox.accept(event, "onap", "R1", ["t"])
    assert len(outbox.claim("onap_R1", "t", "w1", 2, 60)) == 2
    # NOTE: a second publisher must not take the later events either: order per queue.
    assert outbox.claim("onap_R1", "t", "w2", 10, 60) == []
    Delivery.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert len(outbox.claim("onap_R1", "t", "w2", 10, 60)) == 4


def test_a_queue_waiting_for_a_retry_is_held_back_but_not_the_other_topics():
    events = legacy_events(3)
    for event in events:
        outbox.accept(event, "onap", "R1", ["bad", "good"])
    Delivery.objects.filter(topic="bad", event__message_id=events[0].message_id).update(
        next_attempt_at=timezone.now() + timedelta(minutes=1)
    )
    assert outbox.claim("onap_R1", "bad", "w1", 10, 60) == []
    assert len(outbox.claim("onap_R1", "good", "w1", 10, 60)) == 3
    assert outbox.pending_queues() == [("onap_R1", MR, "bad"), ("onap_R1", MR, "good")]


def test_settling_publishes_retries_and_dead_letters():
    events = legacy_events(3)
    for event in events:
        outbox.accept(event, "onap", "R1", ["a", "b"])
    a = outbox.claim("onap_R1", "a", "w1", 10, 60)
    outbox.settle(a, {r.id: outbox.Outcome(published=True) for r in a}, "w1", None)
    b = outbox.claim("onap_R1", "b", "w1", 10, 60)
    later = timezone.now() + timedelta(seconds=5)
    outcomes = {
        b[0].id: outbox.Outcome(published=True),
        b[1].id: outbox.Outcome(dead="HTTP 403"),
        b[2].id: outbox.Outcome(retry_error="HTTP 503"),
    }
    outbox.settle(b, outcomes, "w1", later)
    first, second, third = (Event.objects.get(message_id=e.message_id) for e in events)
    assert first.status == "published" and first.published_at is not None
    assert second.status == "dead" and second.dead_topics == ["b"]
    assert "HTTP 403" in second.last_error
    retried = third.deliveries.get(topic="b")
    assert third.status == "pending" and retried.status == "pending"
    assert retried.attempts == 1 and retried.next_attempt_at == later
    assert retried.claimed_by == "" and retried.claimed_until is None
    assert outbox.counts() == {"pending": 1, "published": 1, "dead": 1}


def test_a_delivery_that_keeps_failing_is_dead_lettered_after_max_attempts_or_age():
    events = legacy_events(2)
    outbox.accept(events[0], "onap", "R1", ["t"])
    give_up = outbox.GiveUp(max_attempts=2, max_age=3600)
    for attempt in (1, 2):
        rows = outbox.claim("onap_R1", "t", "w1", 10, 60)
        gave_up = outbox.settle(
            rows, {rows[0].id: outbox.Outcome(retry_error="HTTP 404")}, "w1", None, give_up
        )
        assert len(gave_up) == attempt - 1
    row = Delivery.objects.get()
    assert row.status == "dead" and row.last_error.startswith("gave up after 2 attempts")
    outbox.accept(events[1], "onap", "R1", ["t"])
    Delivery.objects.filter(status="pending").update(created_at=timezone.now() - timedelta(hours=2))
    rows = outbox.claim("onap_R1", "t", "w1", 10, 60)
    assert outbox.settle(rows, {rows[0].id: outbox.Outcome(retry_error="x")}, "w1", None, give_up)
    assert outbox.counts()["dead"] == 2


def test_a_round_whose_lease_was_taken_over_changes_nothing():
    for event in legacy_events(1):
        outbox.accept(event, "onap", "R1", ["t"])
    rows = outbox.claim("onap_R1", "t", "w1", 10, 60)
    Delivery.objects.update(claimed_by="w2")
    outbox.settle(rows, {rows[0].id: outbox.Outcome(published=True)}, "w1", None)
    assert Event.objects.get().status == "pending"


def test_cancelling_a_topic_dead_letters_its_pending_deliveries_only():
    for event in legacy_events(2):
        outbox.accept(event, "onap", "R1", ["gone", "kept"])
    assert service.cancel("onap_R1", "gone") == 2
    assert outbox.pending_queues() == [("onap_R1", MR, "kept")]
    assert set(Delivery.objects.filter(topic="gone").values_list("last_error", flat=True)) == {
        service.UNSUBSCRIBED
    }


def test_pollers_get_events_after_a_time_filtered_by_kind():
    events = legacy_events(6)
    for event in events:
        outbox.accept(event, "onap", "R1", ["t"])
    everything = service.events_since("onap", "R1", None, None, 100)
    assert [e["message_id"] for e in everything] == [e.message_id for e in events]
    since = events[2].emitted_at
    later = service.events_since("onap", "R1", None, since, 100)
    assert [e["message_id"] for e in later] == [e.message_id for e in events[3:]]
    kind = events[0].kind.value
    only = service.events_since("onap", "R1", [kind], None, 100)
    assert only and all(e["kind"] == kind for e in only)
    assert everything[0]["delivery"] == {"status": "pending", "topics": ["t"], "dead_topics": []}


def test_pruning_removes_old_published_events_and_keeps_dead_letters_and_pending():
    events = legacy_events(3)
    for event in events:
        outbox.accept(event, "onap", "R1", ["t"])
    Event.objects.filter(message_id=events[0].message_id).update(status="published")
    Event.objects.filter(message_id=events[1].message_id).update(status="dead")
    Event.objects.update(created_at=timezone.now() - timedelta(days=8))
    assert outbox.prune(7) == 1
    assert sorted(Event.objects.values_list("status", flat=True)) == ["dead", "pending"]
