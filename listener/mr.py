"""A small DMaaP Message Router publishing client (``POST {MR}/events/{topic}``).

Framework-free. It only sends and classifies; the publisher decides what to retry.
Basic auth and HTTPS (verified against ``ca_file`` when given, else the system CAs).
The password is never logged or put in an exception message.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import requests

from multicloud import metrics, transaction

#: MR's partial-publish error: "...Successfully published number of messages: <n>".
_PARTIAL = re.compile(r"published number of messages:\s*(\d+)", re.IGNORECASE)
PARTIAL_PUBLISH_MRSTATUS = 5007


class Verdict(StrEnum):
    OK = "ok"
    RETRY = "retry"  # connection error, timeout, 5xx, 429, 404
    SPLIT = "split"  # 413 (or 400 on a batch: one bad message spoils the batch)
    DEAD = "dead"  # any other 4xx: retrying cannot help


@dataclass(frozen=True)
class Reply:
    verdict: Verdict
    status: int | None  # HTTP status, None when no answer came
    detail: str  # short, safe to log
    published: int = 0  # messages MR says it stored (a partial publish)


class MessageRouter:
    """Publishes JSON arrays to Message Router topics."""

    def __init__(
        self,
        url: str,
        username: str = "",
        password: str = "",
        ca_file: str = "",
        timeout: float = 10.0,
    ):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._auth = (username, password) if username else None
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        # NOTE: passed per request: a session-level verify loses to REQUESTS_CA_BUNDLE.
        self.verify: bool | str = ca_file or True

    @property
    def session(self) -> requests.Session:
        """This thread's HTTP session (requests does not promise a session is thread-safe)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["Content-Type"] = "application/json"
            session.auth = self._auth
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def publish(self, topic: str, messages: list[dict[str, Any]]) -> Reply:
        """POST one batch; its ONAP request id is the first event's (see :func:`batch_ids`)."""
        body = json.dumps(messages, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            with metrics.upstream_call("message_router") as call:
                response = self.session.post(
                    f"{self.url}/events/{quote(topic, safe='')}",
                    data=body,
                    headers=transaction.outgoing_headers(batch_ids(messages)),
                    timeout=self.timeout,
                    verify=self.verify,
                )
                call.status = response.status_code
        except requests.RequestException as exc:
            return Reply(Verdict.RETRY, None, f"{type(exc).__name__}: {_first_line(exc)}")
        return classify(response.status_code, response.text, len(messages))

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()


def batch_ids(messages: list[dict[str, Any]]) -> transaction.Transaction:
    """The ONAP ids of a publish: the request id the first event carries (or a new one)."""
    first = str(messages[0].get("request_id") or "") if messages else ""
    return transaction.from_headers({transaction.REQUEST_ID: first}.get)


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


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else ""
