"""The publisher: drains the outbox to DMaaP Message Router, per region in event order.

Framework-free. :meth:`Publisher.run_once` is one round over every region with due events
(tests call it directly); :meth:`Publisher.run` loops until stopped, woken early by
:meth:`Publisher.wake` when the listener stored something.

Work is per queue (region + topic, see :mod:`listener.outbox`). Per claimed batch: 2xx
publishes; a connection error, timeout, 5xx, 429 or 404 holds that queue (only) back with
exponential backoff (only the part of a partial publish MR did
not store is retried); 413 splits the batch in halves down to single messages (a single
message refused with 413 is dead); 400 splits a batch too, so one bad message does not
condemn the others; any other 4xx dead-letters, and so does a delivery still failing after
``MULTICLOUD_MR_MAX_ATTEMPTS`` attempts or ``MULTICLOUD_MR_MAX_AGE`` seconds. Dead-lettered
deliveries stay in the outbox with status ``dead`` and the reason, and are logged at ERROR.
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
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from listener import metrics, outbox
from listener.mr import MessageRouter, Reply, Verdict
from multicloud.conf import mask_userinfo
from multicloud.events.models import Delivery

log = logging.getLogger(__name__)
IDLE_WAIT = 0.5
PRUNE_EVERY = 600.0


class Counters:
    """Thread-safe named counters."""

    def __init__(self, mirror: Callable[[str, int], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        #: Also told every addition (the Prometheus counters of listener/metrics.py).
        self._mirror = mirror

    def add(self, name: str, n: int = 1) -> None:
        if n:
            with self._lock:
                self._counts[name] += n
            if self._mirror is not None:
                self._mirror(name, n)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def __getitem__(self, name: str) -> int:
        with self._lock:
            return self._counts[name]


class Publisher:
    """Publishes outbox deliveries, one queue (region + topic) at a time per thread.

    :meth:`run` keeps up to ``parallel`` queues in flight on a thread pool and never waits
    for a slow queue before serving the others; each worker thread has its own HTTP
    session (:class:`~listener.mr.MessageRouter` keeps one per thread).
    """

    def __init__(
        self,
        router: MessageRouter,
        batch_size: int = 100,
        retry_min: float = 0.5,
        retry_max: float = 60.0,
        worker: str | None = None,
        retention_days: int = 0,
        give_up: outbox.GiveUp = outbox.NEVER_GIVE_UP,
        parallel: int = 8,
    ):
        self.router = router
        self.retention_days = retention_days
        self._next_prune = 0.0
        self.batch_size = batch_size
        self.retry_min = retry_min
        self.retry_max = retry_max
        self.give_up = give_up
        self.parallel = parallel
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # NOTE: a lease must outlast the slowest round: every request may take the full
        # timeout, and a 413 split of a batch of n costs up to 2n requests.
        self.lease = max(60.0, router.timeout * 4)
        self.counters = Counters()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._inflight: set[tuple[str, str]] = set()
        self._inflight_lock = threading.Lock()
        self._failing: dict[tuple[str, str], str] = {}

    # ----------------------------------------------------------------- loop

    def run(self) -> None:
        """Publish until :meth:`stop`; database trouble is logged and waited out."""
        log.info("publisher %s: publishing to %s", self.worker, mask_userinfo(self.router.url))
        with ThreadPoolExecutor(self.parallel, thread_name_prefix="mr-queue") as pool:
            while not self._stop.is_set():
                started = self._dispatch(pool)
                if not started:
                    self._prune_now_and_then()
                self._wake.wait(IDLE_WAIT)
                self._wake.clear()
        close_old_connections()
        log.info("publisher %s stopped: %s", self.worker, self.counters.snapshot())

    def _dispatch(self, pool: ThreadPoolExecutor) -> int:
        """Start a task for each pending queue not already in flight; returns how many."""
        try:
            queues = outbox.pending_queues()
        except DatabaseError as exc:
            log.warning("publisher: database error, retrying: %s", exc)
            _drop_connection()
            self._stop.wait(1.0)
            return 0
        started = 0
        for queue in queues:
            with self._inflight_lock:
                if queue in self._inflight or len(self._inflight) >= self.parallel:
                    continue
                self._inflight.add(queue)
            pool.submit(self._serve, queue)
            started += 1
        return started

    def _serve(self, queue: tuple[str, str]) -> None:
        """One task: publish a queue until it has nothing due (or we stop)."""
        settled = 0
        try:
            while not self._stop.is_set():
                done = self._round(*queue)
                if not done:
                    break
                settled += done
        finally:
            close_old_connections()
            with self._inflight_lock:
                self._inflight.discard(queue)
            if settled:  # NOTE: a queue in backoff must not make the dispatcher spin
                self._wake.set()

    def _round(self, vim_id: str, topic: str) -> int:
        try:
            return self.publish_queue(vim_id, topic)
        except DatabaseError as exc:
            log.warning("publisher: %s %s: database error, retrying: %s", vim_id, topic, exc)
            _drop_connection()
            self._stop.wait(1.0)
        except Exception:
            # NOTE: the pool must outlive a bug, or events would pile up unseen.
            log.exception("publisher: round of %s %s failed; retrying", vim_id, topic)
            self._stop.wait(1.0)
        return 0

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
        """One round: a batch from each queue with due deliveries; returns those settled."""
        settled = 0
        for vim_id, topic in outbox.pending_queues():
            if self._stop.is_set():
                break
            settled += self.publish_queue(vim_id, topic)
        return settled

    def publish_queue(self, vim_id: str, topic: str) -> int:
        """Claim, send and settle one batch of a queue; returns the deliveries settled."""
        rows = outbox.claim(vim_id, topic, self.worker, self.batch_size, self.lease)
        if not rows:
            return 0
        deadline = time.monotonic() + self.lease - self.router.timeout - 1
        outcomes = {row.id: outbox.Outcome() for row in rows}
        failure = self._send(topic, rows, outcomes, deadline)
        retry_at = None
        if failure is not None:
            attempts = max(row.attempts for row in rows) + 1
            retry_at = timezone.now() + timedelta(seconds=self.backoff(attempts))
            self.counters.add("retried", sum(1 for o in outcomes.values() if o.retry_error))
        self._note_state((vim_id, topic), failure, len(rows), retry_at)
        for row in self._settle(rows, outcomes, retry_at):
            self._log_dead(row, topic, row.last_error)
        return len(rows)

    def _note_state(self, queue: tuple[str, str], failure: Reply | None, n: int, retry_at) -> None:
        """Log a queue's failures once per change of state, not once per retry."""
        before = self._failing.get(queue)
        if failure is None:
            if before is not None:
                del self._failing[queue]
                log.info("publisher: %s topic %s: publishing again", *queue)
            return
        if before != failure.detail:
            self._failing[queue] = failure.detail
            log.warning(
                "publisher: %s topic %s: %s; retrying %d event(s) with backoff (first in %.1fs)",
                *queue,
                failure.detail,
                n,
                (retry_at - timezone.now()).total_seconds(),
            )

    def _settle(
        self, rows: list[Delivery], outcomes: dict[int, outbox.Outcome], retry_at
    ) -> list[Delivery]:
        """Record the round, retrying through a short database outage: MR already has the
        messages, so giving up here would publish them again once the lease runs out."""
        deadline = time.monotonic() + self.lease / 2
        delay = 0.2
        while True:
            try:
                return outbox.settle(rows, outcomes, self.worker, retry_at, self.give_up)
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
        self,
        topic: str,
        batch: list[Delivery],
        outcomes: dict[int, outbox.Outcome],
        deadline: float,
    ) -> Reply | None:
        """Publish ``batch`` to ``topic``; returns the retryable failure, if any."""
        if time.monotonic() > deadline:
            reply = Reply(Verdict.RETRY, None, "lease about to run out")
            self._mark_retry(batch, topic, reply, outcomes)
            return reply
        reply = self.router.publish(topic, [row.event.message for row in batch])
        self.counters.add("requests")
        if reply.verdict is Verdict.OK:
            self._mark_published(batch, outcomes)
            return None
        if reply.verdict is Verdict.RETRY:
            self._mark_published(batch[: reply.published], outcomes)
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

    def _mark_published(self, batch: list[Delivery], outcomes: dict[int, outbox.Outcome]) -> None:
        for row in batch:
            outcomes[row.id].published = True
        self.counters.add("published", len(batch))
        if batch:
            metrics.PUBLISHED.labels(batch[0].topic).inc(len(batch))

    def _mark_retry(
        self, batch: list[Delivery], topic: str, reply: Reply, outcomes: dict[int, outbox.Outcome]
    ) -> None:
        for row in batch:
            outcomes[row.id].retry_error = reply.detail
        metrics.FAILED.labels(topic).inc(len(batch))

    def _mark_dead(
        self, batch: list[Delivery], topic: str, reply: Reply, outcomes: dict[int, outbox.Outcome]
    ) -> None:
        for row in batch:
            outcomes[row.id].dead = reply.detail
            self._log_dead(row, topic, reply.detail)
        metrics.DEAD.labels(topic).inc(len(batch))

    def _log_dead(self, row: Delivery, topic: str, why: str) -> None:
        log.error(
            "publisher: DEAD-LETTERED event %s (%s, %s) for topic %s: %s",
            row.event.message_id,
            row.vim_id,
            row.event.event_type,
            topic,
            why,
        )
        self.counters.add("dead")


def _drop_connection() -> None:
    try:
        connection.close()
    except DatabaseError:
        pass
