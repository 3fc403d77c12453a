"""Steady read load through the load balancer, every answer recorded with its timing."""

from __future__ import annotations

import itertools
import json
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import requests


@dataclass(frozen=True)
class Outcome:
    path: str
    started: float  # time.monotonic()
    ended: float
    status: int  # 0: no answer (connection refused or reset, timeout)
    is_json: bool
    served_by: str  # the replica HAProxy says answered ("" without an answer)
    error: str = ""

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def _is_json(response: requests.Response) -> bool:
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        return False
    try:
        json.loads(response.content)
    except ValueError:
        return False
    return True


def fetch(session: requests.Session, url: str, path: str, timeout: float, **kw) -> Outcome:
    """One GET (or ``method=``) with its outcome; never raises for a failed exchange."""
    method = kw.pop("method", "GET")
    started = time.monotonic()
    try:
        response = session.request(method, url + path, timeout=timeout, **kw)
    except requests.RequestException as exc:
        return Outcome(path, started, time.monotonic(), 0, False, "", type(exc).__name__)
    return Outcome(
        path,
        started,
        time.monotonic(),
        response.status_code,
        _is_json(response),
        response.headers.get("X-Served-By", ""),
    )


def percentile(values: Iterable[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Load:
    """``clients`` threads, each sending at most ``rate`` requests a second, in turn over
    ``paths``, until stopped. Bounded: a gentle load on a shared 2-core machine."""

    def __init__(
        self,
        url: str,
        paths: list[str],
        headers: dict[str, str],
        clients: int = 4,
        rate: float = 8.0,
        timeout: float = 30.0,
    ):
        self.url, self.paths, self.headers = url, paths, headers
        self.clients, self.interval, self.timeout = clients, 1.0 / rate, timeout
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Load:
        for i in range(self.clients):
            thread = threading.Thread(target=self._client, args=(i,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)

    def _client(self, offset: int) -> None:
        session = requests.Session()
        session.headers.update(self.headers)
        paths = itertools.islice(itertools.cycle(self.paths), offset, None)
        while not self._stop.is_set():
            outcome = fetch(session, self.url, next(paths), self.timeout)
            with self._lock:
                self.outcomes.append(outcome)
            self._stop.wait(max(0.0, self.interval - outcome.seconds))

    def wait_for(self, count: int, timeout: float = 60.0) -> None:
        """Until ``count`` more answers than now were recorded (the load is flowing)."""
        target = len(self.snapshot()) + count
        deadline = time.monotonic() + timeout
        while len(self.snapshot()) < target:
            if time.monotonic() > deadline:
                raise AssertionError(f"the load recorded fewer than {count} answers in {timeout}s")
            time.sleep(0.05)

    def snapshot(self, keep: Callable[[Outcome], bool] = lambda o: True) -> list[Outcome]:
        with self._lock:
            return [o for o in self.outcomes if keep(o)]


def failures(outcomes: list[Outcome], ok: Callable[[Outcome], bool]) -> list[Outcome]:
    return [o for o in outcomes if not ok(o)]


def summary(outcomes: list[Outcome]) -> str:
    """requests, answers by status, latency median/p95/max, who served them."""
    if not outcomes:
        return "no requests"
    seconds = [o.seconds for o in outcomes]
    statuses = Counter(o.status or o.error for o in outcomes)
    served = Counter(o.served_by or "-" for o in outcomes)
    return (
        f"{len(outcomes)} requests, status {dict(sorted(statuses.items(), key=str))}, "
        f"latency median {statistics.median(seconds) * 1000:.0f} ms / "
        f"p95 {percentile(seconds, 0.95) * 1000:.0f} ms / max {max(seconds) * 1000:.0f} ms, "
        f"served by {dict(sorted(served.items()))}"
    )
