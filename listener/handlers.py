"""HTTP handlers: event subscriptions, stored events for pollers, check_vim_status."""

from __future__ import annotations

from listener import outbox, status, subscriptions
from listener.notifications import parse_timestamp
from multicloud.api.http import Request, Response, json_response
from multicloud.exceptions import BadRequest
from multicloud.vims import service as vims

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def _region(request: Request):
    return vims.get_region(*vims.region_key(request.params))


def _ids(region) -> dict[str, str]:
    return {
        "vimId": region.vim_id,
        "cloud_owner": region.cloud_owner,
        "cloud_region_id": region.cloud_region_id,
    }


def subscribe(request: Request) -> Response:
    """POST .../event_subscriptions {"states": [...], "topic": "..."}: 201 new, 200 updated."""
    region = _region(request)
    sub, created = subscriptions.subscribe(
        region.cloud_owner, region.cloud_region_id, request.json()
    )
    return json_response(subscriptions.describe(sub), status=201 if created else 200)


def list_subscriptions(request: Request) -> Response:
    """GET .../event_subscriptions: the region's subscriptions."""
    region = _region(request)
    found = subscriptions.list_subscriptions(region.cloud_owner, region.cloud_region_id)
    return json_response(
        {**_ids(region), "subscriptions": [subscriptions.describe(s) for s in found]}
    )


def unsubscribe(request: Request) -> Response:
    """DELETE .../event_subscriptions[?topic=...] (or body {"topic": ...}): 204."""
    region = _region(request)
    topic = request.query_one("topic")
    body = request.json(required=False)
    if topic is None and isinstance(body, dict):
        topic = body.get("topic")
    subscriptions.unsubscribe(region.cloud_owner, region.cloud_region_id, topic)
    return Response(status=204, content_type=None)


def list_events(request: Request) -> Response:
    """GET .../events?states=A,B&since=<ISO time>&limit=n: stored events, oldest first."""
    region = _region(request)
    raw_states = ",".join(request.query_all("states"))
    kinds = subscriptions.parse_states(raw_states) if raw_states else None
    since = _since(request.query_one("since"))
    limit = _limit(request.query_one("limit"))
    events = outbox.events_since(region.cloud_owner, region.cloud_region_id, kinds, since, limit)
    next_since = events[-1]["timestamp"] if events else request.query_one("since")
    return json_response({**_ids(region), "events": events, "next_since": next_since})


def check_vim_status(request: Request) -> Response:
    """POST .../check_vim_status {"states": [...]}: the region's VMs in those states."""
    body = request.json_object()
    region = _region(request)
    servers = status.vm_status(region, body.get("states"))
    return json_response({**_ids(region), "states": body.get("states"), "servers": servers})


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
