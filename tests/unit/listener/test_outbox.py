"""The outbox: idempotent acceptance, ordered claims with leases, settling a round."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from listener import outbox
from listener.notifications import parse
from multicloud.events import service as stored
from multicloud.events.models import Event
from tests.nova_corpus import args, replay

pytestmark = pytest.mark.django_db


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
    assert Event.objects.count() == 1
    row = Event.objects.get()
    assert row.status == "pending" and row.pending_topics == ["t"]
    assert row.message["message_id"] == event.message_id
    assert row.message["vim_id"] == "onap_R1"


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


def test_a_claim_takes_the_oldest_events_of_the_region_in_nova_order():
    events = legacy_events(5)
    for event in reversed(events):  # stored out of order
        outbox.accept(event, "onap", "R1", ["t"])
    rows = outbox.claim("onap_R1", "w1", 3, 60)
    assert [r.message_id for r in rows] == [e.message_id for e in events[:3]]
    assert all(r.claimed_by == "w1" for r in rows)


def test_a_claimed_region_is_not_claimed_again_until_the_lease_runs_out():
    for event in legacy_events(4):
        outbox.accept(event, "onap", "R1", ["t"])
    assert len(outbox.claim("onap_R1", "w1", 2, 60)) == 2
    # NOTE: a second publisher must not take the later events either: order per region.
    assert outbox.claim("onap_R1", "w2", 10, 60) == []
    Event.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert len(outbox.claim("onap_R1", "w2", 10, 60)) == 4


def test_a_region_waiting_for_a_retry_is_held_back_entirely():
    events = legacy_events(3)
    for event in events:
        outbox.accept(event, "onap", "R1", ["t"])
    Event.objects.filter(message_id=events[0].message_id).update(
        next_attempt_at=timezone.now() + timedelta(minutes=1)
    )
    assert outbox.claim("onap_R1", "w1", 10, 60) == []


def test_settling_publishes_retries_and_dead_letters():
    events = legacy_events(3)
    for event in events:
        outbox.accept(event, "onap", "R1", ["a", "b"])
    rows = outbox.claim("onap_R1", "w1", 10, 60)
    outcomes = {
        rows[0].id: outbox.Outcome(published_to=["a", "b"]),
        rows[1].id: outbox.Outcome(published_to=["a"], dead_on={"b": "HTTP 403"}),
        rows[2].id: outbox.Outcome(published_to=["a"], retry_error="b: HTTP 503"),
    }
    later = timezone.now() + timedelta(seconds=5)
    outbox.settle(rows, outcomes, "w1", later)
    first, second, third = (Event.objects.get(id=r.id) for r in rows)
    assert first.status == "published" and first.published_at is not None
    assert second.status == "dead" and second.dead_topics == ["b"]
    assert "HTTP 403" in second.last_error
    assert third.status == "pending" and third.pending_topics == ["b"]
    assert third.attempts == 1 and third.next_attempt_at == later
    assert third.claimed_by == "" and third.claimed_until is None
    assert outbox.counts() == {"pending": 1, "published": 1, "dead": 1}


def test_a_round_whose_lease_was_taken_over_changes_nothing():
    for event in legacy_events(1):
        outbox.accept(event, "onap", "R1", ["t"])
    rows = outbox.claim("onap_R1", "w1", 10, 60)
    Event.objects.update(claimed_by="w2")
    outbox.settle(rows, {rows[0].id: outbox.Outcome(published_to=["t"])}, "w1", None)
    assert Event.objects.get().status == "pending"


def test_pollers_get_events_after_a_time_filtered_by_kind():
    events = legacy_events(6)
    for event in events:
        outbox.accept(event, "onap", "R1", ["t"])
    everything = stored.events_since("onap", "R1", None, None, 100)
    assert [e["message_id"] for e in everything] == [e.message_id for e in events]
    since = events[2].emitted_at
    later = stored.events_since("onap", "R1", None, since, 100)
    assert [e["message_id"] for e in later] == [e.message_id for e in events[3:]]
    kind = events[0].kind.value
    only = stored.events_since("onap", "R1", [kind], None, 100)
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
