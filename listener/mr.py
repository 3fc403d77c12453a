"""A small DMaaP Message Router publishing client (``POST {MR}/events/{topic}``).

Framework-free. It only sends and classifies; the publisher decides what to retry
(see :mod:`listener.sinks` for the sessions, auth and TLS every sink shares).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from listener.sinks import HttpSink, Reply, Verdict, batch_ids

__all__ = ["MessageRouter", "Reply", "Verdict", "batch_ids", "classify"]

#: MR's partial-publish error: "...Successfully published number of messages: <n>".
_PARTIAL = re.compile(r"published number of messages:\s*(\d+)", re.IGNORECASE)
PARTIAL_PUBLISH_MRSTATUS = 5007


class MessageRouter(HttpSink):
    """Publishes JSON arrays to Message Router topics."""

    name = "message-router"
    upstream = "message_router"

    def publish(self, topic: str, messages: list[dict[str, Any] | str]) -> Reply:
        """POST one batch (messages as dicts or as JSON text, sent as they are); its ONAP
        request id is the first event's (see :func:`batch_ids`)."""
        texts = [m if isinstance(m, str) else _compact(m) for m in messages]
        body = ("[" + ",".join(texts) + "]").encode()
        head = [json.loads(m) if isinstance(m, str) else m for m in messages[:1]]
        answer = self.post(f"/events/{quote(topic, safe='')}", body, head)
        if isinstance(answer, Reply):
            return answer
        return classify(answer.status_code, answer.text, len(messages))

    def probe_path(self) -> str:
        # NOTE: MR's topic list: cheap, and answered whenever MR can serve publishes.
        return "/topics"


def _compact(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def classify(status: int, text: str, sent: int) -> Reply:
    """Turn MR's answer into what to do with the batch."""
    if 200 <= status < 300:
        return Reply(Verdict.OK, status, "ok", sent)
    body = _json(text)
    detail = f"HTTP {status}"
    if isinstance(body, dict):
        detail += f" mrstatus {body.get('mrstatus')}: {str(body.get('message', ''))[:300]}"
    published = _partial_count(body, sent)
    if status in (404, 429) or status >= 500:
        return Reply(Verdict.RETRY, status, detail, published)
    if status == 413 or (status == 400 and sent > 1):
        return Reply(Verdict.SPLIT, status, detail)
    return Reply(Verdict.DEAD, status, detail)


def _partial_count(body: Any, sent: int) -> int:
    """How many leading messages a partial publish (mrstatus 5007) stored; 0 when unsure."""
    if not isinstance(body, dict) or body.get("mrstatus") != PARTIAL_PUBLISH_MRSTATUS:
        return 0
    found = _PARTIAL.search(str(body.get("message", "")))
    return min(int(found.group(1)), sent) if found else 0


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
