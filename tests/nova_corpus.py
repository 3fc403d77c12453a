"""The captured Nova notifications (tests/data), replayable as fresh notifications.

Each replayed notification gets a new ``message_id`` and a strictly increasing timestamp,
so N replays are N distinct notifications in a known order.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

CAPTURED = Path(__file__).resolve().parent / "data" / "nova-notifications-captured.jsonl"


def captured() -> list[dict]:
    with CAPTURED.open() as handle:
        return [json.loads(line) for line in handle if line.strip()]


def replay(count: int, start: datetime | None = None) -> Iterator[dict]:
    """``count`` notifications cycling through the corpus, each with a unique message_id."""
    corpus = captured()
    moment = start or datetime.now(UTC)
    for index in range(count):
        item = dict(corpus[index % len(corpus)])
        stamp = (moment + timedelta(microseconds=index)).replace(tzinfo=None)
        item["metadata"] = {
            "message_id": str(uuid.uuid4()),
            "timestamp": stamp.isoformat(sep=" ", timespec="microseconds"),
        }
        yield item


def args(item: dict) -> tuple:
    """(priority, publisher_id, event_type, payload, metadata) for ``Endpoint.handle``."""
    return (
        item["priority"].upper(),
        item["publisher_id"],
        item["event_type"],
        item["payload"],
        item["metadata"],
    )


def first(event_type: str) -> dict:
    return next(i for i in replay(len(captured())) if i["event_type"] == event_type)
