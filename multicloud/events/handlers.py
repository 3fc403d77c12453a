"""HTTP handlers: event subscriptions and stored events for pollers."""

from __future__ import annotations

from multicloud.event_kinds import parse_timestamp
from multicloud.events import service as stored
from multicloud.events import subscriptions
from multicloud.exceptions import BadRequest
from multicloud.http import Request, Response, json_response
from multicloud.vims import service as vims

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def subscribe(request: Request) -> Response:
    """POST .../event_subscriptions {"states": [...], "topic": "..."}: 201 new, 200 updated."""
    region = vims.region_of(request)
    sub, created = subscriptions.subscribe(
        region.cloud_owner, region.cloud_region_id, request.json()
    )
    return json_response(subscriptions.describe(sub), status=201 if created else 200)


def list_subscriptions(request: Request) -> Response:
    """GET .../event_subscriptions: the region's subscriptions."""
    region = vims.region_of(request)
    found = subscriptions.list_subscriptions(region.cloud_owner, region.cloud_region_id)
    return json_response(
        {**vims.region_fields(region), "subscriptions": [subscriptions.describe(s) for s in found]}
    )


def unsubscribe(request: Request) -> Response:
    """DELETE .../event_subscriptions[?topic=...] (or body {"topic": ...}): 204."""
    region = vims.region_of(request)
    topic = request.query_one("topic")
    body = request.json(required=False)
    if topic is None and isinstance(body, dict):
        topic = body.get("topic")
    subscriptions.unsubscribe(region.cloud_owner, region.cloud_region_id, topic)
    return Response(status=204, content_type=None)


def list_events(request: Request) -> Response:
    """GET .../events?states=A,B&since=<ISO time>&limit=n: stored events, oldest first."""
    region = vims.region_of(request)
    raw_states = ",".join(request.query_all("states"))
    kinds = subscriptions.parse_states(raw_states) if raw_states else None
    since = _since(request.query_one("since"))
    limit = _limit(request.query_one("limit"))
    events = stored.events_since(region.cloud_owner, region.cloud_region_id, kinds, since, limit)
    next_since = events[-1]["timestamp"] if events else request.query_one("since")
    return json_response({**vims.region_fields(region), "events": events, "next_since": next_since})


def _since(raw: str | None):
    if not raw:
        return None
    try:
        return parse_timestamp(raw)
    except ValueError:
        raise BadRequest(f"since must be an ISO-8601 time, not {raw!r}") from None


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"limit must be an integer, not {raw!r}") from None
    if not 1 <= value <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
    return value
