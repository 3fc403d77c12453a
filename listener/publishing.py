"""The publisher in a process of its own, beside the listener's.

Framework-free (no Django import). ``run_listener``'s process is bound by one interpreter
lock: receiving (oslo.messaging decoding and acknowledging each notification), mapping and
storing use one core, and publishing (claim, HTTP, settle) in the same process competed
for it. So by default ``run_listener`` starts its publisher as a child process
(``run_listener --only-publish``, the same settings and database), which a second core
runs in parallel; ``--publisher thread`` keeps it in the listener's process.

Between the two processes:

* the child's **stdin**: the listener writes a byte after each stored batch (the child
  wakes its publisher at once instead of at its next idle poll); end of file means the
  listener is gone or stopping: the child finishes its round and exits (a ``kill -9`` of the
  listener so never leaves a publisher behind for long);
* a **report pipe**: the child's counters (a JSON line when they changed, at most every
  :data:`REPORT_EVERY` seconds, and a last one at exit), mirrored into the listener's
  Prometheus counters and stats, so ``--metrics-port`` still shows every count.

Nothing else is shared: the outbox is the hand-over, exactly as between replicas (the
event rows are committed before the notification is acknowledged, whoever publishes them).
A child that dies is started again with a growing delay.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
#: Seconds between two reports of the child's counters (when they changed).
REPORT_EVERY = 0.2
#: Delay before starting a child that died again: doubled each time, up to this.
RESTART_MAX = 30.0


class PublisherProcess:
    """Runs, wakes, supervises and stops the publisher's child process (listener side)."""

    def __init__(
        self,
        argv: list[str],
        on_report: Callable[[list[Any]], None] = lambda deltas: None,
        restart_min: float = 1.0,
    ):
        self.argv = argv
        self.on_report = on_report
        self.restart_min = restart_min
        self._proc: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._counters: dict[str, int] = {}
        self._watcher: threading.Thread | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="publisher-watch", daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        read, write = os.pipe()
        try:
            proc = subprocess.Popen(
                [*self.argv, "--report-fd", str(write)],
                stdin=subprocess.PIPE,
                pass_fds=(write,),
                start_new_session=False,
            )
        finally:
            os.close(write)
        assert proc.stdin is not None
        os.set_blocking(proc.stdin.fileno(), False)
        with self._lock:
            self._proc = proc
        threading.Thread(
            target=self._read_reports, args=(read,), name="publisher-reports", daemon=True
        ).start()

    def _read_reports(self, fd: int) -> None:
        with os.fdopen(fd, "r", encoding="utf-8") as reports:
            for line in reports:
                try:
                    report = json.loads(line)
                except ValueError:
                    continue
                with self._lock:
                    self._counters = dict(report.get("counters", {}))
                self._ready.set()
                self.on_report(report.get("metrics", []))

    def _watch(self) -> None:
        delay = self.restart_min
        while True:
            with self._lock:
                proc = self._proc
            assert proc is not None
            started = time.monotonic()
            code = proc.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started > 60:
                delay = self.restart_min
            log.warning("publisher process exited with %s; starting it again in %.0fs", code, delay)
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, RESTART_MAX)
            self._spawn()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the child runs its publisher (its first report); False on timeout."""
        return self._ready.wait(timeout)

    def wake(self) -> None:
        """Tell the child something was stored (never blocks; a full pipe has wakes enough)."""
        with self._lock:
            proc = self._proc
        if proc is None or proc.stdin is None:
            return
        try:
            os.write(proc.stdin.fileno(), b"w")
        except (BlockingIOError, BrokenPipeError, ValueError, OSError):
            pass

    def stop(self, deadline: float) -> bool:
        """Let the child finish its round and exit by ``deadline`` (monotonic), else end it;
        True when it exited in time."""
        self._stopping.set()
        with self._lock:
            proc = self._proc
        if proc is None:
            return True
        if proc.stdin is not None:
            try:
                proc.stdin.close()  # end of file: finish the round and exit
            except OSError:
                pass
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
            return True
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
            return False

    def snapshot(self) -> dict[str, int]:
        """The child's last reported counters (requests, published, ...)."""
        with self._lock:
            return dict(self._counters)

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self._proc.pid if self._proc is not None else None


def serve(
    run: Callable[[], None],
    stop: Callable[[], None],
    wake: Callable[[], None],
    counters: Callable[[], dict[str, int]],
    metrics: Callable[[], list[Any]],
    report_fd: int,
) -> None:
    """The child's side: run the publisher (``run``) until the listener goes away (end of
    file on stdin), SIGTERM or SIGINT; report its counters on ``report_fd``."""
    done = threading.Event()

    def stopping(*_: Any) -> None:
        done.set()
        stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stopping)
    threading.Thread(target=_read_wakes, args=(wake, stopping), name="wakes", daemon=True).start()
    with os.fdopen(report_fd, "w", encoding="utf-8") as reports:
        reporter = threading.Thread(
            target=_report_until, args=(done, reports, counters, metrics), daemon=True
        )
        reporter.start()
        _report(reports, counters, metrics)  # NOTE: the first report says "ready"
        try:
            run()
        finally:
            done.set()
            reporter.join(5)
            _report(reports, counters, metrics)


def _read_wakes(wake: Callable[[], None], stopping: Callable[[], None]) -> None:
    while True:
        try:
            data = os.read(0, 4096)
        except OSError:
            data = b""
        if not data:
            stopping()
            return
        wake()


def _report_until(done: threading.Event, reports: Any, counters, metrics) -> None:  # noqa: ANN001
    last: dict[str, int] = {}
    while not done.wait(REPORT_EVERY):
        last = _report(reports, counters, metrics, last)


def _report(reports: Any, counters, metrics, last: dict[str, int] | None = None) -> dict:  # noqa: ANN001
    """Write the counters and the metrics' increments since the last report, when
    anything changed; returns the counters."""
    now, deltas = counters(), metrics()
    if now == last and not deltas:
        return now
    try:
        reports.write(json.dumps({"counters": now, "metrics": deltas}) + "\n")
        reports.flush()
    except (OSError, ValueError):
        pass  # NOTE: the listener is gone; nobody reads the counters any more
    return now
