"""One region's notification listener, kept alive in a thread of its own.

Framework-free. A region whose broker is down must never block the others, the publisher
or a SIGTERM, and oslo.messaging's listener connects with "retry forever" inside
``start()``. So each region gets a :class:`RegionListener` thread that first checks the
transport URL, then probes the broker with a bounded connect (kombu, a few seconds) and
backs off between probes; only a broker that answered gets an oslo.messaging listener.
Every change of a region's state is logged once, naming the region, not every retry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from listener.regions import ListenTarget
from listener.transport import broker_reachable
from multicloud.messaging_url import check_transport_url

log = logging.getLogger(__name__)


class State(StrEnum):
    STARTING = "starting"
    REFUSED = "refused"  # the transport URL cannot be used: waits for a new registration
    UNREACHABLE = "unreachable"  # retried in the background with backoff
    LISTENING = "listening"
    STOPPED = "stopped"


class RegionListener:
    """Connects, listens and stops one region without ever blocking its caller."""

    def __init__(
        self,
        target: ListenTarget,
        make_listener: Callable[[ListenTarget], tuple[Any, Any]],
        retry_min: float = 1.0,
        retry_max: float = 60.0,
        probe_timeout: float = 5.0,
        probe: Callable[[str, float], str] = broker_reachable,
    ):
        self.target = target
        self.make_listener = make_listener
        self.retry_min = retry_min
        self.retry_max = retry_max
        self.probe_timeout = probe_timeout
        self.probe = probe
        self.state = State.STARTING
        self.detail = ""
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._transport: Any = None
        self._listener: Any = None
        self._thread = threading.Thread(
            target=self._run, name=f"region-{target.vim_id}"[:60], daemon=True
        )

    @property
    def vim_id(self) -> str:
        return self.target.vim_id

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            check_transport_url(self.target.transport_url)
        except ValueError as exc:
            self._set(State.REFUSED, f"transport URL {exc}", logging.ERROR)
            return
        delay = self.retry_min
        while not self._stop.is_set():
            problem = self.probe(self.target.transport_url, self.probe_timeout)
            if self._stop.is_set():
                return
            if not problem and self._listen():
                return
            self._set(State.UNREACHABLE, problem or self.detail, logging.WARNING, delay)
            self._stop.wait(delay)
            delay = min(self.retry_max, delay * 2)

    def _listen(self) -> bool:
        try:
            transport, listener = self.make_listener(self.target)
        except Exception as exc:  # noqa: BLE001 (a driver may raise anything; retried)
            self.detail = f"{type(exc).__name__}: {str(exc)[:200]}"
            return False
        with self._lock:
            if self._stop.is_set():
                _stop_quietly(listener, transport)
                return True
            self._transport, self._listener = transport, listener
        self._set(State.LISTENING, "", logging.INFO)
        return True

    def _set(self, state: State, detail: str, level: int, retry_in: float | None = None) -> None:
        if state is self.state and detail == self.detail:
            return
        target = self.target
        if state is State.LISTENING:
            log.info(
                "listening to %s: exchange %s, topics %s, pool %s",
                target.vim_id,
                target.exchange,
                ",".join(target.topics),
                target.pool,
            )
            self.state, self.detail = state, detail
            return
        again = (
            f"; retrying in the background (every {self.retry_max:g}s at most)" if retry_in else ""
        )
        log.log(level, "region %s: %s: %s%s", target.vim_id, state.value, detail, again)
        self.state, self.detail = state, detail

    def stop(self) -> None:
        """Ask to stop (returns at once); :meth:`join` waits for the drain."""
        self._stop.set()
        with self._lock:
            listener = self._listener
        if listener is not None:
            listener.stop()

    def join(self, deadline: float) -> bool:
        """Wait until in-flight notifications are done (or ``deadline``); True when clean."""
        self._thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            listener, transport = self._listener, self._transport
            self._listener = self._transport = None
        clean = not self._thread.is_alive()
        if listener is not None:
            waiter = threading.Thread(
                target=_wait_and_cleanup, args=(listener, transport), daemon=True
            )
            waiter.start()
            waiter.join(max(0.0, deadline - time.monotonic()))
            clean = clean and not waiter.is_alive()
        if self.state is not State.REFUSED or clean:
            self.state = State.STOPPED
        return clean


def _wait_and_cleanup(listener: Any, transport: Any) -> None:
    listener.wait()
    transport.cleanup()


def _stop_quietly(listener: Any, transport: Any) -> None:
    try:
        listener.stop()
        _wait_and_cleanup(listener, transport)
    except Exception:  # noqa: BLE001 (shutting down a listener nobody will use)
        log.debug("listener cleanup failed", exc_info=True)
