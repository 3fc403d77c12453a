"""Bounded pools for work that outlives its request (discovery, image fetches).

A request that starts background work queues it on a pool of a fixed number of
threads (green threads under the pecan mode's Eventlet), never a thread of its
own, so a burst of requests queues work instead of multiplying threads (M1 of
the security audit). A process makes its queue, lock and threads on first use
(a forked worker its own, after Eventlet has patched threading and queue).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class _Process:
    """A pool's state in one process: made there, after any fork and Eventlet's patching."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.jobs: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...]]] = queue.Queue()
        self.threads: list[threading.Thread] = []


class Pool:
    """``size`` daemon threads taking jobs from one queue, in order."""

    #: Guards only the creation of a process's state (nothing in it can block).
    _creating = threading.Lock()

    def __init__(self, name: str, size: int):
        self.name = name
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

    def submit(self, job: Callable[..., Any], *args: Any) -> None:
        """Run ``job(*args)`` on one of the pool's threads, when one is free."""
        state = self._here()
        state.jobs.put((job, args))
        with state.lock:
            if len(state.threads) < self.size:
                thread = threading.Thread(
                    target=self._work,
                    args=(state.jobs,),
                    name=f"{self.name}-{len(state.threads)}",
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
            job, args = jobs.get()
            try:
                job(*args)
            except Exception:  # noqa: BLE001 - a job records its own outcome; never kill the pool
                log.exception("background job of %s failed", self.name)
            finally:
                jobs.task_done()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every queued job has run (tests); False if ``timeout`` came first."""
        state = self._state
        if state is None or state.pid != os.getpid():
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        while state.jobs.unfinished_tasks:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True


#: Registrations and their discovery (local and A&AI backends).
DISCOVERY = Pool("discovery", 4)
#: Create-by-URL fetches of images.
IMAGE_FETCH = Pool("image-fetch", 4)
