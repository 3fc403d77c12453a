"""Background jobs: a database record per job, run on a bounded pool of the worker serving it.

The record (a region's discovery state, a heatbridge job) is what every worker and
replica sees; :func:`start` queues the work on its kind's pool (``discovery``,
``heatbridge``, ``image-fetch``: the name's part before its last ``-``), a fixed
number of daemon threads (green threads under the pecan mode's Eventlet), never a
thread of its own, so a burst of requests queues work instead of multiplying
threads (M1 of the security audit). The work carries the ONAP transaction ids of
the request that started it. Callers start a job once its record is committed
(``transaction.on_commit``), so the job always finds it.

A job may name a ``keepalive``: while it is queued or running, the process holding
it calls that every ``BEAT`` seconds (to touch or renew the job's record), so
other workers can tell a live job from one whose worker went away.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from multicloud import transaction

log = logging.getLogger(__name__)

#: Every pool thread's name starts with this.
THREAD_PREFIX = "job-"
#: Threads per kind of job in each process.
POOL_SIZE = 4
#: Seconds between the keepalive calls of the jobs a process holds.
BEAT = 30.0


class Job:
    """A queued job: its name, and a way to wait for its end."""

    def __init__(self, name: str):
        self.name = name
        self._done = threading.Event()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the job to end; False if ``timeout`` came first."""
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()


class _Process:
    """A pool's state in one process: made there, after any fork and Eventlet's patching."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.jobs: queue.Queue[tuple[Job, Callable[..., Any], tuple[Any, ...]]] = queue.Queue()
        self.threads: list[threading.Thread] = []


class Pool:
    """``size`` daemon threads taking jobs from one queue, in order."""

    #: Guards only the creation of a process's state (nothing in it can block).
    _creating = threading.Lock()

    def __init__(self, kind: str, size: int = POOL_SIZE):
        self.kind = kind
        self.size = size
        self._state: _Process | None = None

    def _here(self) -> _Process:
        state = self._state
        if state is None or state.pid != os.getpid():  # NOTE: threads do not survive a fork
            with self._creating:
                state = self._state
                if state is None or state.pid != os.getpid():
                    state = self._state = _Process()
        return state

    def submit(self, job: Job, work: Callable[..., Any], *args: Any) -> None:
        """Run ``work(*args)`` on one of the pool's threads, when one is free."""
        state = self._here()
        state.jobs.put((job, work, args))
        with state.lock:
            if len(state.threads) < self.size:
                thread = threading.Thread(
                    target=self._work,
                    args=(state.jobs,),
                    name=f"{THREAD_PREFIX}{self.kind}-{len(state.threads)}",
                    daemon=True,
                )
                state.threads.append(thread)
                thread.start()

    @property
    def threads(self) -> int:
        """Threads this process has started for the pool (never more than ``size``)."""
        state = self._state
        return len(state.threads) if state is not None and state.pid == os.getpid() else 0

    def _work(self, jobs: queue.Queue) -> None:
        while True:
            job, work, args = jobs.get()
            try:
                work(*args)
            except Exception:  # noqa: BLE001 - a job records its own outcome; never kill the pool
                log.exception("background job %s failed", job.name)
            finally:
                job._done.set()
                jobs.task_done()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every queued job has run; False if ``timeout`` came first."""
        state = self._state
        if state is None or state.pid != os.getpid():
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        while state.jobs.unfinished_tasks:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True


_pools: dict[str, Pool] = {}
_pools_lock = threading.Lock()


def pool(kind: str) -> Pool:
    with _pools_lock:
        found = _pools.get(kind)
        if found is None:
            found = _pools[kind] = Pool(kind)
        return found


def start(
    name: str,
    target: Callable[..., Any],
    *args: Any,
    keepalive: Callable[[], None] | None = None,
) -> Job:
    """Queue ``target(*args)`` on the pool of the name's kind (``discovery-7`` → ``discovery``).

    ``keepalive`` is called every ``BEAT`` seconds until the job has ended.
    """
    job = Job(name)
    if keepalive is not None:
        _hold(job, keepalive)
    kind = name.rpartition("-")[0] or name
    pool(kind).submit(job, transaction.propagating(target), *args)
    return job


_held: list[tuple[Job, Callable[[], None]]] = []
_held_lock = threading.Lock()
_beating = 0  # the process whose keepalive thread runs


def _hold(job: Job, keepalive: Callable[[], None]) -> None:
    global _beating
    with _held_lock:
        _held.append((job, keepalive))
        begin = _beating != os.getpid()
        _beating = os.getpid()
    if begin:  # NOTE: started outside the lock (a green thread's start yields)
        threading.Thread(target=_beat, name=f"{THREAD_PREFIX}keepalive", daemon=True).start()


def _beat() -> None:
    from django.db import connections

    while True:
        time.sleep(BEAT)
        with _held_lock:
            _held[:] = [(job, call) for job, call in _held if not job.done]
            held = list(_held)
        for job, keepalive in held:
            try:
                keepalive()
            except Exception:  # noqa: BLE001 - a missed beat is retried at the next one
                log.warning("keepalive of job %s failed", job.name, exc_info=True)
        if held:
            connections.close_all()


def join_all(timeout: float | None = None) -> bool:
    """Wait until every pool of this process is idle (tests); False if ``timeout`` came first."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with _pools_lock:
        pools = list(_pools.values())
    for each in pools:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not each.join(left):
            return False
    return True


def lease(seconds: float) -> datetime:
    """When a lease taken now for ``seconds`` runs out (a job not renewed by then is orphaned)."""
    return timezone.now() + timedelta(seconds=seconds)
