"""A batch listener's poll: an idle region waits for its first notification instead of
waking every batch timeout."""

from __future__ import annotations

from listener.transport import _PatientPoll


class FakePoll:
    """Records each poll's batch size and timeout; returns what ``queued`` holds."""

    def __init__(self, queued: list[str]):
        self.queued = queued
        self.calls: list[tuple[int, float | None]] = []

    def __call__(self, timeout=None, batch_size=1, batch_timeout=None):  # noqa: ANN001
        self.calls.append((batch_size, batch_timeout))
        taken, self.queued = self.queued[:batch_size], self.queued[batch_size:]
        return taken


def test_an_idle_poll_waits_long_for_one_then_gathers_the_batch_for_the_batch_timeout():
    idle = FakePoll([])
    assert _PatientPoll(idle, 1.0)(batch_size=100, batch_timeout=0.05) == []
    assert idle.calls == [(1, 1.0)]  # one long wait, not a wake-up every 0.05 s

    busy = FakePoll([f"n{i}" for i in range(150)])
    batch = _PatientPoll(busy, 1.0)(batch_size=100, batch_timeout=0.05)
    assert batch == [f"n{i}" for i in range(100)]
    assert busy.calls == [(1, 1.0), (99, 0.05)]
