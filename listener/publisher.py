"""The publisher: drains the outbox to DMaaP Message Router, per region in event order.

Framework-free. :meth:`Publisher.run_once` is one round over every region with due events
(tests call it directly); :meth:`Publisher.run` loops until stopped, woken early by
:meth:`Publisher.wake` when the listener stored something.

Per claimed batch and topic: 2xx publishes; a connection error, timeout, 5xx, 429 or 404
holds the region back with exponential backoff (only the part of a partial publish MR did
not store is retried); 413 splits the batch in halves down to single messages (a single
message refused with 413 is dead); 400 splits a batch too, so one bad message does not
condemn the others; any other 4xx dead-letters. Dead-lettered events stay in the outbox
with status ``dead`` and the reason, and are logged at ERROR.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from listener import metrics, outbox
from listener.mr import MessageRouter, Reply, Verdict
from multicloud.events.models import Event

log = logging.getLogger(__name__)
IDLE_WAIT = 0.5
PRUNE_EVERY = 600.0


class Counters:
    """Thread-safe named counters."""

    def __init__(self, mirror: Callable[[str, int], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        #: Also told every addition (the Prometheus counters of listener/metrics.py).
        self.mirror = mirror

    def add(self, name: str, n: int = 1) -> None:
        if n:
            with self._lock:
                self._counts[name] += n
            if self.mirror is not None:
                self.mirror(name, n)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def __getitem__(self, name: str) -> int:
        with self._lock:
            return self._counts[name]


class Publisher:
    """Publishes outbox rows; one instance per thread (its HTTP session is not shared)."""

    def __init__(
        self,
        router: MessageRouter,
        batch_size: int = 100,
        retry_min: float = 0.5,
        retry_max: float = 60.0,
        worker: str | None = None,
        retention_days: int = 0,
    ):
        self.router = router
        self.retention_days = retention_days
        self._next_prune = 0.0
        self.batch_size = batch_size
        self.retry_min = retry_min
        self.retry_max = retry_max
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # NOTE: a lease must outlast the slowest round: every request may take the full
        # timeout, and a 413 split of a batch of n costs up to 2n requests.
        self.lease = max(60.0, router.timeout * 4)
        self.counters = Counters()
        self._stop = threading.Event()
        self._wake = threading.Event()

    # ----------------------------------------------------------------- loop

    def run(self) -> None:
        """Publish until :meth:`stop`; database trouble is logged and waited out."""
        log.info("publisher %s: publishing to %s", self.worker, self.router.url)
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except DatabaseError as exc:
                log.warning("publisher: database error, retrying: %s", exc)
                _drop_connection()
                busy = 0
                self._stop.wait(1.0)
            except Exception:
                # NOTE: the thread must outlive a bug, or events would pile up unseen.
                log.exception("publisher: round failed; retrying")
                busy = 0
                self._stop.wait(1.0)
            if not busy:
                self._prune_now_and_then()
                self._wake.wait(IDLE_WAIT)
                self._wake.clear()
        close_old_connections()
        log.info("publisher %s stopped: %s", self.worker, self.counters.snapshot())

    def _prune_now_and_then(self) -> None:
        if not self.retention_days or time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + PRUNE_EVERY
        try:
            removed = outbox.prune(self.retention_days)
        except DatabaseError as exc:
            log.warning("publisher: cannot prune the outbox: %s", exc)
            return
        if removed:
            log.info(
                "publisher: pruned %d published event(s) older than %d day(s)",
                removed,
                self.retention_days,
            )

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def run_once(self) -> int:
        """One round: a batch from each region with due events; returns events settled."""
        settled = 0
        for vim_id in outbox.regions_with_pending():
            if self._stop.is_set():
                break
            settled += self.publish_region(vim_id)
        return settled

    def publish_region(self, vim_id: str) -> int:
        rows = outbox.claim(vim_id, self.worker, self.batch_size, self.lease)
        if not rows:
            return 0
        deadline = time.monotonic() + self.lease - self.router.timeout - 1
        outcomes = {row.id: outbox.Outcome() for row in rows}
        failure: Reply | None = None
        for topic in _topics_in_order(rows):
            batch = [row for row in rows if topic in row.pending_topics]
            failure = self._send(topic, batch, outcomes, deadline) or failure
        retry_at = None
        if failure is not None:
            attempts = max(row.attempts for row in rows) + 1
            retry_at = timezone.now() + timedelta(seconds=self.backoff(attempts))
            self.counters.add("retried", sum(1 for o in outcomes.values() if o.retry_error))
            log.warning(
                "publisher: %s: %s; retrying %d event(s) in %.1fs (attempt %d)",
                vim_id,
                failure.detail,
                len(rows),
                (retry_at - timezone.now()).total_seconds(),
                attempts,
            )
        self._settle(rows, outcomes, retry_at)
        return len(rows)

    def _settle(self, rows: list[Event], outcomes: dict[int, outbox.Outcome], retry_at) -> None:
        """Record the round, retrying through a short database outage: MR already has the
        messages, so giving up here would publish them again once the lease runs out."""
        deadline = time.monotonic() + self.lease / 2
        delay = 0.2
        while True:
            try:
                outbox.settle(rows, outcomes, self.worker, retry_at)
                return
            except DatabaseError as exc:
                if time.monotonic() > deadline or self._stop.is_set():
                    raise
                log.warning("publisher: cannot record a publish round yet (%s); retrying", exc)
                _drop_connection()
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)

    def backoff(self, attempts: int) -> float:
        """Exponential, capped, with jitter so replicas do not retry in lockstep."""
        delay = min(self.retry_max, self.retry_min * 2 ** min(attempts - 1, 30))
        return delay * random.uniform(0.75, 1.0)  # noqa: S311 (jitter, not crypto)

    # ----------------------------------------------------------------- one topic

    def _send(
        self, topic: str, batch: list[Event], outcomes: dict[int, outbox.Outcome], deadline: float
    ) -> Reply | None:
        """Publish ``batch`` to ``topic``; returns the retryable failure, if any."""
        if time.monotonic() > deadline:
            reply = Reply(Verdict.RETRY, None, "lease about to run out")
            self._mark_retry(batch, topic, reply, outcomes)
            return reply
        reply = self.router.publish(topic, [row.message for row in batch])
        self.counters.add("requests")
        if reply.verdict is Verdict.OK:
            self._mark_published(batch, topic, outcomes)
            return None
        if reply.verdict is Verdict.RETRY:
            self._mark_published(batch[: reply.published], topic, outcomes)
            self._mark_retry(batch[reply.published :], topic, reply, outcomes)
            return reply
        if reply.verdict is Verdict.SPLIT and len(batch) > 1:
            self.counters.add("splits")
            half = len(batch) // 2
            first = self._send(topic, batch[:half], outcomes, deadline)
            if first is not None:  # keep the order: the second half waits for the first
                self._mark_retry(batch[half:], topic, first, outcomes)
                return first
            return self._send(topic, batch[half:], outcomes, deadline)
        self._mark_dead(batch, topic, reply, outcomes)
        return None

    def _mark_published(
        self, batch: list[Event], topic: str, outcomes: dict[int, outbox.Outcome]
    ) -> None:
        for row in batch:
            outcomes[row.id].published_to.append(topic)
        self.counters.add("published", len(batch))
        metrics.PUBLISHED.labels(topic).inc(len(batch))

    def _mark_retry(
        self, batch: list[Event], topic: str, reply: Reply, outcomes: dict[int, outbox.Outcome]
    ) -> None:
        for row in batch:
            outcomes[row.id].retry_error = f"{topic}: {reply.detail}"
        metrics.FAILED.labels(topic).inc(len(batch))

    def _mark_dead(
        self, batch: list[Event], topic: str, reply: Reply, outcomes: dict[int, outbox.Outcome]
    ) -> None:
        for row in batch:
            outcomes[row.id].dead_on[topic] = reply.detail
            log.error(
                "publisher: DEAD-LETTERED event %s (%s, %s) for topic %s: %s",
                row.message_id,
                row.vim_id,
                row.event_type,
                topic,
                reply.detail,
            )
        self.counters.add("dead", len(batch))
        metrics.DEAD.labels(topic).inc(len(batch))


def _topics_in_order(rows: list[Event]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row.pending_topics))
    return list(seen)


def _drop_connection() -> None:
    try:
        connection.close()
    except DatabaseError:
        pass
