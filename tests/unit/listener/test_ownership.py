"""Queue ownership dies with its owner: a live owner excludes everyone, a dead one nobody."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from django.db import connection

from listener import outbox, ownership
from listener.notifications import parse
from tests.nova_corpus import args, first

pytestmark = pytest.mark.django_db(transaction=True)

HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(60)
"""


def test_sqlite_has_one_publisher_per_database_file_until_it_dies(tmp_path):
    lock = ownership.DatabaseLock()
    if lock.path is None:
        pytest.skip(
            "SQLite only (the PostgreSQL pass runs the advisory-lock test instead): "
            "one publisher per database file"
        )
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock.path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert lock.acquire() is False  # another live publisher
        holder.kill()  # kill -9: the kernel releases its lock
        holder.wait(10)
        assert lock.acquire() is True
    finally:
        holder.kill()
        lock.release()


def test_postgresql_queue_owned_by_a_live_session_is_skipped_and_taken_over_once_it_ends():
    if connection.vendor != "postgresql":
        pytest.skip(
            "PostgreSQL only (runs in the PostgreSQL pass): queues owned through advisory "
            "locks of a live session"
        )
    import psycopg

    event = parse(*args(first("compute.instance.pause.end")))
    outbox.accept(event, "onap", "R1", ["t"])
    rows = outbox.claim("onap_R1", "t", "dead-one", 10, 600)  # claimed, lease far away
    assert rows
    settings = connection.settings_dict
    other = psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=True,
    )
    key = ownership.queue_key("onap_R1", "message-router", "t")
    other.execute("SELECT pg_advisory_lock(%s, %s)", [ownership.QUEUE_LOCK_CLASS, key])
    with ownership.queue("onap_R1", "message-router", "t") as owned:
        assert owned is False  # a live publisher sends this queue
    other.close()  # its session ends (as when its process is killed)
    # NOTE: the server ends the closed session's backend (and frees its locks) a moment
    # after the client has gone: wait for that, within a bound.
    deadline = time.monotonic() + 10
    while True:
        with ownership.queue("onap_R1", "message-router", "t") as owned:
            if owned:
                taken = outbox.claim("onap_R1", "t", "replacement", 10, 60, take_over=True)
                break
        assert time.monotonic() < deadline, "the queue stayed owned after its session ended"
        time.sleep(0.05)
    assert [r.id for r in taken] == [r.id for r in rows]
