"""The publisher's child process: woken through its stdin, its counters reported back,
gone when the listener goes, started again when it dies."""

from __future__ import annotations

import sys
import threading
import time

from listener import metrics
from listener.publishing import PublisherProcess

#: A stand-in child: the real serve() loop around a "publisher" that counts its wakes,
#: and one published event for a topic (what the listener's metrics must show).
CHILD = """
import sys, threading
from listener import publishing
from listener.metrics import PUBLISHED, Increments
stop, woken, count = threading.Event(), threading.Event(), {"wakes": 0}
def wake():
    count["wakes"] += 1
    PUBLISHED.labels("unit-topic").inc()
    woken.set()
def run():
    while not stop.wait(0.01):
        pass
fd = int(sys.argv[sys.argv.index("--report-fd") + 1])
publishing.serve(run, stop.set, wake, lambda: dict(count), Increments().take, fd)
"""


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def published(topic: str) -> float:
    return metrics.PUBLISHED.labels(topic)._value.get()


def test_the_child_is_woken_reports_its_counters_exits_at_end_of_file_and_is_restarted():
    reports: list[list] = []
    lock = threading.Lock()

    def on_report(increments: list) -> None:
        with lock:
            reports.append(increments)
        metrics.add_increments(increments)

    before = published("unit-topic")
    child = PublisherProcess([sys.executable, "-c", CHILD], on_report=on_report, restart_min=0.1)
    child.start()
    try:
        wait_for(lambda: child.pid is not None)
        child.wake()
        wait_for(lambda: child.snapshot().get("wakes", 0) >= 1)
        wait_for(lambda: published("unit-topic") >= before + 1)
        first = child.pid
        assert first is not None
        child._proc.kill()  # dies: started again, with a fresh pid
        wait_for(lambda: child.pid not in (None, first))
        child.wake()
        wait_for(lambda: published("unit-topic") >= before + 2)
    finally:
        stopping = time.monotonic()
        assert child.stop(time.monotonic() + 10) is True  # end of file: it exits by itself
    assert time.monotonic() - stopping < 5
    assert child._proc is not None and child._proc.returncode == 0
    # every increment reported once: the listener's counter equals the child's wakes
    assert published("unit-topic") == before + 2
