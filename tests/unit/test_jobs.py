"""Background jobs run in named daemon threads that carry the request's ONAP ids."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from multicloud import jobs, transaction


def test_a_job_runs_in_a_named_daemon_thread_with_the_callers_transaction():
    seen = {}

    def work(a, b):
        seen["args"] = (a, b)
        seen["request_id"] = transaction.current().request_id

    token = transaction.begin(transaction.Transaction("req-1", "inv-1", "tx-1"))
    try:
        thread = jobs.start("heatbridge-7", work, 1, "two")
    finally:
        transaction.end(token)
    thread.join(timeout=10)
    assert thread.name == "job-heatbridge-7" and thread.daemon
    assert seen == {"args": (1, "two"), "request_id": "req-1"}


def test_a_lease_runs_out_that_many_seconds_from_now():
    before = timezone.now()
    until = jobs.lease(90)
    assert before + timedelta(seconds=90) <= until <= timezone.now() + timedelta(seconds=90)
