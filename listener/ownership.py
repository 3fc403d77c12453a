"""Who may send a queue's events: ownership that dies with its owner.

Framework-free (Django's database connection only). A publisher that is killed leaves
deliveries claimed under its lease; waiting for that lease to run out delayed the last
events of a ``kill -9`` by a minute. Ownership tied to something the dead process cannot
keep lets a replacement take those rows over at once, and still never lets two live
publishers send the same row:

* **PostgreSQL**: a publisher holds a session-level advisory lock on a queue (region, sink,
  topic) for a whole round (claim, send, settle). The lock belongs to its database session,
  so it is released the moment the process dies (or its session ends). Whoever holds the
  lock is the only one sending that queue's rows, so it may take over rows claimed by
  anyone else: their claimer is gone.
* **SQLite** (one writer at a time by design): one publisher per database file. The first
  publisher takes an exclusive ``flock`` on a file beside the database, which the kernel
  releases when the process dies; the others store events and wait for the lock. The holder
  is the only sender, so every claim it finds is its own or a dead publisher's.

A publisher whose database session is cut while a request is in flight may see that request
repeated by the next owner (at-least-once towards the sink; consumers dedup on
``message_id``), but it never starts a send without owning the queue.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import DatabaseError, connection

log = logging.getLogger(__name__)
#: First key of our queue locks (PostgreSQL's two-key advisory lock space; the start-up
#: migration lock uses the one-key space).
QUEUE_LOCK_CLASS = 0x4D435051  # "MCPQ"


_SQLITE_WRITES = threading.RLock()
_depth = 0  # nesting of writing() in the thread holding _SQLITE_WRITES
_turn_files: dict[str, int] = {}


@contextmanager
def writing() -> Iterator[None]:
    """SQLite: one write transaction at a time, across this process's threads and the
    publisher's process.

    SQLite has one writer; a writer that finds the database locked sleeps in SQLite's busy
    handler (1, 2, 5, 10 ... 100 ms steps), which cost the listener and the publisher, writing
    side by side, most of their time. Taking turns on a lock here (a thread lock, and an
    ``flock`` beside the database file for the other process) wakes the next writer at
    once. Elsewhere (PostgreSQL) this does nothing.
    """
    global _depth
    if connection.vendor != "sqlite":
        yield
        return
    with _SQLITE_WRITES:
        turns = _turn_file() if _depth == 0 else None
        if turns is not None:
            fcntl.flock(turns, fcntl.LOCK_EX)
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
            if turns is not None:
                fcntl.flock(turns, fcntl.LOCK_UN)


def _turn_file() -> int | None:
    """The open lock file of this SQLite database's writers (None: an in-memory one)."""
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or "mode=memory" in name:
        return None
    fd = _turn_files.get(name)
    if fd is None:
        try:
            fd = os.open(f"{name}-writers.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return None  # NOTE: a read-only directory: SQLite's busy handler still works
        _turn_files[name] = fd
    return fd


def queue_key(vim_id: str, sink: str, topic: str) -> int:
    """A signed 32-bit key for a queue (a collision only makes two queues take turns)."""
    digest = hashlib.blake2b(f"{vim_id}\0{sink}\0{topic}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def queue(vim_id: str, sink: str, topic: str) -> Iterator[bool]:
    """Own a queue for one round on PostgreSQL; yields False when another publisher does.

    Elsewhere yields True: ownership is the process lock (:class:`DatabaseLock`) there.
    """
    if not _postgresql():
        yield True
        return
    key = queue_key(vim_id, sink, topic)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [QUEUE_LOCK_CLASS, key])
        owned = bool(cursor.fetchone()[0])
    try:
        yield owned
    finally:
        if owned:
            _unlock(key)


def _unlock(key: int) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [QUEUE_LOCK_CLASS, key])
    except DatabaseError:
        # NOTE: a session that cannot unlock is broken; closing it releases the lock.
        connection.close()


class DatabaseLock:
    """SQLite: the one publisher of a database file (an ``flock`` beside it).

    On PostgreSQL (or an in-memory SQLite no other process can open) there is nothing to
    hold: :meth:`acquire` is always True.
    """

    def __init__(self) -> None:
        self._fd: int | None = None

    @property
    def path(self) -> Path | None:
        if connection.vendor != "sqlite":
            return None
        name = str(connection.settings_dict.get("NAME") or "")
        if not name or name == ":memory:" or "mode=memory" in name:
            return None
        return Path(f"{name}-publisher.lock")

    def acquire(self) -> bool:
        """True when this process is (now) the database's publisher; never blocks."""
        if self._fd is not None:
            return True
        path = self.path
        if path is None:
            return True
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None


def exclusive_queues() -> bool:
    """True where owning a queue (:func:`queue`) excludes every other live publisher."""
    return _postgresql()
