"""Background jobs run on bounded pools, carrying the request's ONAP ids (M1)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from django.utils import timezone

from multicloud import jobs, transaction


def test_a_job_runs_on_its_kinds_pool_with_the_callers_transaction():
    seen = {}

    def work(a, b):
        seen["args"] = (a, b)
        seen["request_id"] = transaction.current().request_id
        seen["thread"] = threading.current_thread()

    token = transaction.begin(transaction.Transaction("req-1", "inv-1", "tx-1"))
    try:
        job = jobs.start("heatbridge-7", work, 1, "two")
    finally:
        transaction.end(token)
    assert job.join(timeout=10) and job.done and job.name == "heatbridge-7"
    assert seen["thread"].name.startswith("job-heatbridge-") and seen["thread"].daemon
    assert seen["args"] == (1, "two") and seen["request_id"] == "req-1"


def test_a_burst_of_jobs_runs_on_the_pools_threads_only():
    pool = jobs.Pool("test", 3)
    running, most, lock = [0], [0], threading.Lock()
    done = []

    def work(n):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        done.append(n)

    before = threading.active_count()
    for n in range(30):
        pool.submit(jobs.Job(f"test-{n}"), work, n)
    assert pool.threads == 3 and threading.active_count() <= before + 3
    assert pool.join(timeout=30)
    assert sorted(done) == list(range(30)) and most[0] <= 3


def test_a_failing_job_does_not_stop_the_pool():
    pool = jobs.Pool("test-fail", 1)
    failing, after = jobs.Job("test-fail-1"), jobs.Job("test-fail-2")
    done = []
    pool.submit(failing, lambda: 1 / 0)
    pool.submit(after, done.append, "after")
    assert after.join(timeout=10) and failing.done and done == ["after"]


def test_a_job_with_a_keepalive_is_kept_alive_until_it_ends(monkeypatch):
    monkeypatch.setattr(jobs, "BEAT", 0.02)
    monkeypatch.setattr(jobs, "_beating", 0)  # a keepalive thread with the short beat
    gate, beats = threading.Event(), []
    job = jobs.start("test_keep-1", gate.wait, 10, keepalive=lambda: beats.append(1))
    deadline = time.monotonic() + 10
    while len(beats) < 3:
        assert time.monotonic() < deadline, "the keepalive was never called"
        time.sleep(0.01)
    gate.set()
    assert job.join(timeout=10)
    time.sleep(0.1)
    ended_at = len(beats)
    time.sleep(0.2)
    assert len(beats) == ended_at  # not called once the job ended


def test_a_lease_runs_out_that_many_seconds_from_now():
    before = timezone.now()
    until = jobs.lease(90)
    assert before + timedelta(seconds=90) <= until <= timezone.now() + timedelta(seconds=90)
