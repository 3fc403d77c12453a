"""Subscription validation and the kind -> topics routing."""

from __future__ import annotations

import pytest

from multicloud.events import subscriptions
from multicloud.events.subscriptions import Router
from multicloud.exceptions import BadRequest, NotFound

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("states", [[], "", None, ["PAUSE", "EXPLODE"], [1], {"a": 1}])
def test_bad_states_are_refused(states):
    with pytest.raises(BadRequest):
        subscriptions.parse_states(states)


@pytest.mark.parametrize("topic", ["", None, "a b", "x" * 250, "évènements", 42])
def test_bad_topics_are_refused(topic):
    with pytest.raises(BadRequest):
        subscriptions.parse_topic(topic)


def test_states_are_normalised():
    assert subscriptions.parse_states(["pause", "PAUSE", "delete"]) == ["PAUSE", "DELETE"]


def test_subscribing_again_to_a_topic_replaces_its_states():
    _, created = subscriptions.subscribe("o", "r", {"states": ["PAUSE"], "topic": "t"})
    sub, again = subscriptions.subscribe("o", "r", {"states": ["DELETE"], "topic": "t"})
    assert created and not again and sub.states == ["DELETE"]
    assert len(subscriptions.list_subscriptions("o", "r")) == 1


def test_unsubscribing_what_does_not_exist_is_not_found():
    with pytest.raises(NotFound):
        subscriptions.unsubscribe("o", "r", "t")


def test_the_router_merges_stored_and_default_subscriptions_and_notices_changes():
    now = [0.0]
    router = Router(["DELETE"], "default-topic", ttl=1.0, clock=lambda: now[0])
    assert router.topics("o", "r", "DELETE") == ["default-topic"]
    assert router.topics("o", "r", "PAUSE") == []
    subscriptions.subscribe("o", "r", {"states": ["PAUSE", "DELETE"], "topic": "mine"})
    assert router.topics("o", "r", "PAUSE") == []  # cached
    now[0] = 2.0
    assert router.topics("o", "r", "PAUSE") == ["mine"]
    assert router.topics("o", "r", "DELETE") == ["default-topic", "mine"]
    assert router.topics("o", "other", "PAUSE") == []
