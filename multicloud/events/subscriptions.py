"""Event subscriptions: which kinds of a region's VM events go to which topic.

Framework-free. A subscription is stored per (region, topic); the default subscription
(``MULTICLOUD_EVENTS_DEFAULT_STATES`` + ``_TOPIC``) applies to every region and is not
stored. The listener asks :class:`Router` for the topics of each event; it caches the
stored subscriptions for a couple of seconds so a busy listener does not read them per
notification (a change therefore takes effect within :data:`CACHE_SECONDS`).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from multicloud.event_kinds import KIND_NAMES
from multicloud.events import service
from multicloud.events.models import Subscription
from multicloud.exceptions import BadRequest, NotFound

#: Kafka's topic-name rule (what Message Router accepts): 1-249 of [A-Za-z0-9._-].
TOPIC_RE = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
CACHE_SECONDS = 2.0


def parse_states(value: Any, field: str = "states") -> list[str]:
    """A non-empty list of known kinds (case-insensitive), deduplicated, in the given order."""
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not value:
        raise BadRequest(f"{field} must be a non-empty list of event kinds", kinds=list(KIND_NAMES))
    states: list[str] = []
    for item in value:
        name = item.strip().upper() if isinstance(item, str) else None
        if name not in KIND_NAMES:
            raise BadRequest(f"unknown event kind {item!r} in {field}", kinds=list(KIND_NAMES))
        if name not in states:
            states.append(name)
    return states


def parse_topic(value: Any) -> str:
    """A topic name Kafka (so Message Router) accepts: the rule above, and not ``.``/``..``
    (which also read as path segments: ``/events/..`` would reach another URL)."""
    if not isinstance(value, str) or not TOPIC_RE.match(value):
        raise BadRequest("topic must be 1-249 characters of letters, digits, '.', '_' or '-'")
    if value in (".", ".."):
        raise BadRequest("topic must not be '.' or '..'")
    return value


def describe(sub: Subscription) -> dict[str, Any]:
    return {
        "cloud_owner": sub.cloud_owner,
        "cloud_region_id": sub.cloud_region_id,
        "vim_id": f"{sub.cloud_owner}_{sub.cloud_region_id}",
        "topic": sub.topic,
        "states": list(sub.states),
        "created_at": sub.created_at.isoformat(),
        "updated_at": sub.updated_at.isoformat(),
    }


def subscribe(owner: str, region: str, body: Any) -> tuple[Subscription, bool]:
    """Create the subscription of ``body`` or replace the states of the region+topic one."""
    if not isinstance(body, dict):
        raise BadRequest('body must be {"states": [...], "topic": "..."}')
    states = parse_states(body.get("states"))
    topic = parse_topic(body.get("topic"))
    with transaction.atomic():
        sub, created = Subscription.objects.select_for_update().get_or_create(
            cloud_owner=owner, cloud_region_id=region, topic=topic, defaults={"states": states}
        )
        if not created and sub.states != states:
            sub.states = states
            sub.save(update_fields=["states", "updated_at"])
    return sub, created


def list_subscriptions(owner: str, region: str) -> list[Subscription]:
    return list(Subscription.objects.filter(cloud_owner=owner, cloud_region_id=region))


def unsubscribe(owner: str, region: str, topic: str | None) -> int:
    """Delete the region's subscription to ``topic`` (all of them when None); NotFound if none.

    Its events still waiting for that topic are dead-lettered ("subscription deleted"), so
    nothing keeps retrying a topic nobody wants any more.
    """
    found = Subscription.objects.filter(cloud_owner=owner, cloud_region_id=region)
    if topic is not None:
        found = found.filter(topic=parse_topic(topic))
    with transaction.atomic():
        topics = list(found.values_list("topic", flat=True))
        deleted, _ = found.delete()
        for name in topics:
            service.cancel(f"{owner}_{region}", name)
    if not deleted:
        raise NotFound(
            f"no event subscription of {owner}_{region}" + (f" to topic {topic}" if topic else "")
        )
    return deleted


class Router:
    """Topics of an event kind for a region: stored subscriptions plus the default one."""

    def __init__(
        self,
        default_states: Iterable[str] = (),
        default_topic: str = "",
        ttl: float = CACHE_SECONDS,
        clock=time.monotonic,
    ):
        self.default = (frozenset(default_states), default_topic) if default_topic else None
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[float, list[tuple[frozenset, str]]]] = {}

    def topics(self, owner: str, region: str, kind: str) -> list[str]:
        """The topics wanting ``kind`` (sorted, no duplicates); [] when nobody wants it."""
        chosen = {topic for states, topic in self._subscriptions(owner, region) if kind in states}
        if self.default and kind in self.default[0]:
            chosen.add(self.default[1])
        return sorted(chosen)

    def _subscriptions(self, owner: str, region: str) -> list[tuple[frozenset, str]]:
        key, now = (owner, region), self.clock()
        with self._lock:
            cached = self._cache.get(key)
        if cached and now - cached[0] < self.ttl:
            return cached[1]
        fresh = [(frozenset(s.states), s.topic) for s in list_subscriptions(owner, region)]
        with self._lock:
            self._cache[key] = (now, fresh)
        return fresh
