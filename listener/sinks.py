"""What the publisher sends events to: the common part of its HTTP sinks.

Framework-free. A sink (:class:`~listener.mr.MessageRouter`, :class:`~listener.ves.VesCollector`)
sends one batch of a queue and classifies the answer as a :class:`Reply`; the publisher
decides what to retry, split or dead-letter, the same way for every sink. Each thread has its
own HTTP session (requests does not promise a session is thread-safe); Basic auth and HTTPS
(verified against ``ca_file`` when given, else the system CAs). The password is never
logged or put in an exception message.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import requests

from multicloud import metrics, transaction

#: Answers meaning "the service is not there" (no answer, a proxy or the service saying it
#: is unavailable), as opposed to a refusal of these messages.
UNREACHABLE_STATUSES = frozenset({502, 503, 504})
#: Longest a probe of a sink that is down may take.
PROBE_TIMEOUT = 2.0


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
    published: int = 0  # messages the sink says it stored (a partial publish)

    @property
    def unreachable(self) -> bool:
        """The sink itself is down (not this batch refused): worth probing for its return."""
        return self.verdict is Verdict.RETRY and (
            self.status is None or self.status in UNREACHABLE_STATUSES
        )


class HttpSink:
    """One HTTP(S) endpoint, a session per thread."""

    #: The sink's name (as subscriptions and deliveries spell it) and its upstream label.
    name = ""
    upstream = ""

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
        """This thread's HTTP session."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["Content-Type"] = "application/json"
            session.auth = self._auth
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def post(self, path: str, body: bytes, messages: list[dict[str, Any]]) -> Reply | Any:
        """POST ``body``; the response, or the RETRY reply of a request that got none."""
        try:
            with metrics.upstream_call(self.upstream) as call:
                response = self.session.post(
                    f"{self.url}{path}",
                    data=body,
                    headers=transaction.outgoing_headers(batch_ids(messages)),
                    timeout=self.timeout,
                    verify=self.verify,
                )
                call.status = response.status_code
        except requests.RequestException as exc:
            return Reply(Verdict.RETRY, None, f"{type(exc).__name__}: {_first_line(exc)}")
        return response

    def probe_path(self) -> str:
        return "/"

    def probe(self) -> bool:
        """True when the sink answers again (any answer but 5xx), within a short timeout."""
        try:
            response = self.session.get(
                f"{self.url}{self.probe_path()}",
                timeout=min(self.timeout, PROBE_TIMEOUT),
                verify=self.verify,
            )
        except requests.RequestException:
            return False
        return response.status_code < 500

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()


def batch_ids(messages: list[dict[str, Any]]) -> transaction.Transaction:
    """The ONAP ids of a publish: the request id the first event carries (or a new one)."""
    first = str(messages[0].get("request_id") or "") if messages else ""
    return transaction.from_headers({transaction.REQUEST_ID: first}.get)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else ""
