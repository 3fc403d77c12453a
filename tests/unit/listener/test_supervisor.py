"""One region's listener thread: refused URLs, background retries, state-change logging."""

from __future__ import annotations

import threading
import time

from listener.regions import ListenTarget
from listener.supervisor import RegionListener, State


def target(url: str = "rabbit://u:p@127.0.0.1:5672/v") -> ListenTarget:
    return ListenTarget("onap", "R9", url, ("notifications",), "pool")


class FakeListener:
    def __init__(self) -> None:
        self.stopped = threading.Event()

    def stop(self) -> None:
        self.stopped.set()

    def wait(self) -> None:
        self.stopped.wait(5)


class FakeTransport:
    def cleanup(self) -> None:
        pass


def wait_for(predicate, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_an_unusable_transport_url_is_refused_once_and_never_connected(caplog):
    made = []
    region = RegionListener(target("amqp://u:p@h/"), lambda t: made.append(t))
    region.start()
    wait_for(lambda: region.state is State.REFUSED)
    assert made == [] and caplog.text.count("region onap_R9: refused") == 1
    assert "u:p@" not in caplog.text


def test_a_broker_that_is_down_is_retried_in_the_background_and_logged_once(caplog):
    answers = iter(["ConnectionRefusedError"] * 4 + [""])
    listener = FakeListener()
    region = RegionListener(
        target(),
        lambda t: (FakeTransport(), listener),
        retry_min=0.01,
        retry_max=0.02,
        probe=lambda url, timeout: next(answers),
    )
    region.start()
    wait_for(lambda: region.state is State.LISTENING)
    assert caplog.text.count("region onap_R9: unreachable") == 1
    assert caplog.text.count("listening to onap_R9") == 1
    region.stop()
    assert region.join(time.monotonic() + 2) and listener.stopped.is_set()


def test_stopping_a_region_stuck_on_its_broker_returns_by_the_deadline():
    stuck = threading.Event()
    region = RegionListener(
        target(),
        lambda t: (stuck.wait(30), (FakeTransport(), FakeListener()))[1],
        probe=lambda url, timeout: "",
    )
    region.start()
    time.sleep(0.1)
    started = time.monotonic()
    region.stop()
    assert region.join(time.monotonic() + 0.5) is False
    assert time.monotonic() - started < 3
    stuck.set()
