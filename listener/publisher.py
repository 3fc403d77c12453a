"""The publisher: drains the outbox to its sinks (DMaaP Message Router, the VES collector),
per queue in event order.

Framework-free. :meth:`Publisher.run_once` is one round over every queue with due events
(tests call it directly); :meth:`Publisher.run` loops until stopped, woken early by
:meth:`Publisher.wake` when the listener stored something.

Work is per queue (region + sink + topic, see :mod:`listener.outbox`), and a queue is only
ever sent by the publisher that owns it (:mod:`listener.ownership`: a replacement of a
killed publisher takes its claimed rows over at once). Per claimed batch: 2xx publishes; a
connection error, timeout, 5xx, 429 or 404 holds that queue (only) back with exponential
backoff (only the part of a partial publish the sink did not store is retried); 413 splits
the batch in halves down to single messages (a single message refused with 413 is dead);
400 splits a batch too, so one bad message does not condemn the others; any other 4xx
dead-letters, and so does a delivery still failing after ``MULTICLOUD_MR_MAX_ATTEMPTS``
attempts or ``MULTICLOUD_MR_MAX_AGE`` seconds. Dead-lettered deliveries stay in the outbox
with status ``dead`` and the reason, and are logged at ERROR.

While a sink is down (no answer, 502/503/504) the publisher probes it every
:data:`PROBE_INTERVAL` seconds; when it answers again the queues it held back are due at
once, so publishing resumes within about a second instead of at the end of a long backoff.
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
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from listener import metrics, outbox, ownership
from listener.sinks import Reply, Verdict
from multicloud.conf import mask_userinfo
from multicloud.events.models import MESSAGE_ROUTER, destination

log = logging.getLogger(__name__)
IDLE_WAIT = 0.5
PRUNE_EVERY = 600.0
#: Seconds between probes of a sink that is down.
PROBE_INTERVAL = 1.0
MR = MESSAGE_ROUTER


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
    """Publishes outbox deliveries, one queue (region + sink + topic) at a time per thread.

    :meth:`run` keeps up to ``parallel`` queues in flight on a thread pool and never waits
    for a slow queue before serving the others; each worker thread has its own HTTP
    session (every sink keeps one per thread). ``router`` is the Message Router client,
    or a mapping of sink name to client.
    """

    def __init__(
        self,
        router: Any,
        batch_size: int = 100,
        retry_min: float = 0.5,
        retry_max: float = 60.0,
        worker: str | None = None,
        retention_days: int = 0,
        give_up: outbox.GiveUp = outbox.NEVER_GIVE_UP,
        parallel: int = 8,
    ):
        self.sinks: dict[str, Any] = (
            dict(router) if isinstance(router, Mapping) else {router.name: router}
        )
        self.router = next(iter(self.sinks.values()))
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
        self.lease = max([60.0] + [sink.timeout * 4 for sink in self.sinks.values()])
        self.counters = Counters()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._inflight: set[outbox.Queue] = set()
        self._inflight_lock = threading.Lock()
        self._failing: dict[outbox.Queue, str] = {}
        #: Sinks found down, with the queues that wait for them to come back.
        self._down: dict[str, set[outbox.Queue]] = {}
        self._down_lock = threading.Lock()
        self._next_probe = 0.0
        self._database = ownership.DatabaseLock()
        #: Whether this process is the only publisher of its SQLite database.
        self._sole = False
        self._no_sink_logged: set[str] = set()

    # ----------------------------------------------------------------- loop

    def run(self) -> None:
        """Publish until :meth:`stop`; database trouble is logged and waited out."""
        urls = ", ".join(f"{name} {mask_userinfo(sink.url)}" for name, sink in self.sinks.items())
        log.info("publisher %s: publishing to %s", self.worker, urls)
        if not self._await_database():
            return
        try:
            with ThreadPoolExecutor(self.parallel, thread_name_prefix="mr-queue") as pool:
                while not self._stop.is_set():
                    self._probe_down_sinks()
                    started = self._dispatch(pool)
                    if not started:
                        self._prune_now_and_then()
                    self._wake.wait(IDLE_WAIT)
                    self._wake.clear()
        finally:
            self._database.release()
            self._sole = False
        close_old_connections()
        log.info("publisher %s stopped: %s", self.worker, self.counters.snapshot())

    def _await_database(self) -> bool:
        """SQLite: wait until this process is the database's only publisher (see
        :mod:`listener.ownership`); False when stopped first."""
        told = False
        while not self._stop.is_set():
            try:
                if self._database.acquire():
                    self._sole = True
                    return True
            except OSError as exc:
                log.warning("publisher: cannot lock %s: %s", self._database.path, exc)
            if not told:
                log.info(
                    "publisher %s: another process publishes from %s; storing events only "
                    "until it stops",
                    self.worker,
                    self._database.path,
                )
                told = True
            self._stop.wait(1.0)
        return False

    # ----------------------------------------------------------------- sinks that are down

    def _sink_down(self, queue: outbox.Queue) -> None:
        with self._down_lock:
            self._down.setdefault(queue[1], set()).add(queue)

    def _probe_down_sinks(self) -> None:
        """Probe each sink that is down, at most every PROBE_INTERVAL; when one answers
        again, its held-back queues are due at once."""
        if time.monotonic() < self._next_probe:
            return
        self._next_probe = time.monotonic() + PROBE_INTERVAL
        with self._down_lock:
            down = {name: set(queues) for name, queues in self._down.items()}
        for name, queues in down.items():
            if not self.sinks[name].probe():
                continue
            with self._down_lock:
                self._down.pop(name, None)
            try:
                hurried = outbox.expedite(queues)
            except DatabaseError as exc:
                log.warning("publisher: database error, retrying: %s", exc)
                _drop_connection()
                continue
            log.info("publisher: %s answers again; %d held-back event(s) due now", name, hurried)
            self._wake.set()

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
            if queue[1] not in self.sinks:
                self._no_sink(queue[1])
                continue
            with self._inflight_lock:
                if queue in self._inflight or len(self._inflight) >= self.parallel:
                    continue
                self._inflight.add(queue)
            pool.submit(self._serve, queue)
            started += 1
        return started

    def _no_sink(self, name: str) -> None:
        if name not in self._no_sink_logged:
            self._no_sink_logged.add(name)
            log.warning("publisher: events for sink %s wait: it is not configured", name)

    def _serve(self, queue: outbox.Queue) -> None:
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

    def _round(self, vim_id: str, sink: str, topic: str) -> int:
        try:
            return self.publish_queue(vim_id, topic, sink)
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
        for vim_id, sink, topic in outbox.pending_queues():
            if self._stop.is_set():
                break
            if sink in self.sinks:
                settled += self.publish_queue(vim_id, topic, sink)
        return settled

    def publish_queue(self, vim_id: str, topic: str, sink: str = MR) -> int:
        """Claim, send and settle one batch of a queue it owns; returns the deliveries settled."""
        with ownership.queue(vim_id, sink, topic) as owned:
            if not owned:
                return 0  # another publisher is sending this queue
            take_over = self._sole or ownership.exclusive_queues()
            return self._publish_owned((vim_id, sink, topic), take_over)

    def _publish_owned(self, queue: outbox.Queue, take_over: bool) -> int:
        vim_id, sink, topic = queue
        rows = outbox.claim(
            vim_id, topic, self.worker, self.batch_size, self.lease, sink=sink, take_over=take_over
        )
        if not rows:
            return 0
        client = self.sinks[sink]
        deadline = time.monotonic() + self.lease - client.timeout - 1
        outcomes = {row.id: outbox.Outcome() for row in rows}
        failure = self._send(client, topic, rows, outcomes, deadline)
        retry_at = None
        if failure is not None:
            attempts = max(row.attempts for row in rows) + 1
            retry_at = timezone.now() + timedelta(seconds=self.backoff(attempts))
            self.counters.add("retried", sum(1 for o in outcomes.values() if o.retry_error))
            if failure.unreachable:
                self._sink_down(queue)
        self._note_state(queue, failure, len(rows), retry_at)
        for row in self._settle(rows, outcomes, retry_at):
            self._log_dead(row, row.topic, row.last_error)
        return len(rows)

    def _note_state(self, queue: outbox.Queue, failure: Reply | None, n: int, retry_at) -> None:
        """Log a queue's failures once per change of state, not once per retry."""
        before = self._failing.get(queue)
        where = _where(queue)
        if failure is None:
            if before is not None:
                del self._failing[queue]
                log.info("publisher: %s: publishing again", where)
            return
        if before != failure.detail:
            self._failing[queue] = failure.detail
            log.warning(
                "publisher: %s: %s; retrying %d event(s) with backoff (first in %.1fs)",
                where,
                failure.detail,
                n,
                (retry_at - timezone.now()).total_seconds(),
            )

    def _settle(
        self, rows: list[outbox.Claimed], outcomes: dict[int, outbox.Outcome], retry_at
    ) -> list[outbox.Claimed]:
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
        client: Any,
        topic: str,
        batch: list[outbox.Claimed],
        outcomes: dict[int, outbox.Outcome],
        deadline: float,
    ) -> Reply | None:
        """Publish ``batch`` to ``topic`` of ``client``; returns the retryable failure, if any."""
        if time.monotonic() > deadline:
            reply = Reply(Verdict.RETRY, None, "lease about to run out")
            self._mark_retry(batch, topic, reply, outcomes)
            return reply
        reply = client.publish(topic, [outbox.message_of(row) for row in batch])
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
            first = self._send(client, topic, batch[:half], outcomes, deadline)
            if first is not None:  # keep the order: the second half waits for the first
                self._mark_retry(batch[half:], topic, first, outcomes)
                return first
            return self._send(client, topic, batch[half:], outcomes, deadline)
        self._mark_dead(batch, topic, reply, outcomes)
        return None

    def _mark_published(
        self, batch: list[outbox.Claimed], outcomes: dict[int, outbox.Outcome]
    ) -> None:
        for row in batch:
            outcomes[row.id].published = True
        self.counters.add("published", len(batch))
        if batch:
            metrics.PUBLISHED.labels(_label(batch[0])).inc(len(batch))

    def _mark_retry(
        self,
        batch: list[outbox.Claimed],
        topic: str,
        reply: Reply,
        outcomes: dict[int, outbox.Outcome],
    ) -> None:
        for row in batch:
            outcomes[row.id].retry_error = reply.detail
        if batch:
            metrics.FAILED.labels(_label(batch[0])).inc(len(batch))

    def _mark_dead(
        self,
        batch: list[outbox.Claimed],
        topic: str,
        reply: Reply,
        outcomes: dict[int, outbox.Outcome],
    ) -> None:
        for row in batch:
            outcomes[row.id].dead = reply.detail
            self._log_dead(row, topic, reply.detail)
        if batch:
            metrics.DEAD.labels(_label(batch[0])).inc(len(batch))

    def _log_dead(self, row: outbox.Claimed, topic: str, why: str) -> None:
        log.error(
            "publisher: DEAD-LETTERED event %s (%s, %s) for %s: %s",
            row.event.message_id,
            row.vim_id,
            row.event.event_type,
            _where((row.vim_id, row.sink, topic)).split(" ", 1)[1],
            why,
        )
        self.counters.add("dead")


def _where(queue: outbox.Queue) -> str:
    """How logs name a queue: "<vim id> topic <t>" (Message Router), "<vim id> ves <t>"."""
    vim_id, sink, topic = queue
    return f"{vim_id} {'topic' if sink == MR else sink} {topic}"


def _label(row: outbox.Claimed) -> str:
    return destination(row.sink, row.topic)


def _drop_connection() -> None:
    try:
        connection.close()
    except DatabaseError:
        pass
