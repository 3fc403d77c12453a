"""Background work runs on bounded pools, never a thread per request (M1)."""

from __future__ import annotations

import threading
import time

from multicloud.background import Pool


def test_a_burst_of_jobs_runs_on_the_pools_threads_only():
    pool = Pool("test", 3)
    running, most, lock = [0], [0], threading.Lock()
    done = []

    def job(n):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        done.append(n)

    before = threading.active_count()
    for n in range(30):
        pool.submit(job, n)
    assert pool.threads == 3 and threading.active_count() <= before + 3
    pool.join()
    assert sorted(done) == list(range(30)) and most[0] <= 3


def test_a_failing_job_does_not_stop_the_pool():
    pool = Pool("test-fail", 1)
    done = []
    pool.submit(lambda: 1 / 0)
    pool.submit(done.append, "after")
    pool.join()
    assert done == ["after"]
