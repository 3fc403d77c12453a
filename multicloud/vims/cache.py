"""Cloud region records cached per worker, dropped as soon as any registration changes.

Every region-scoped request starts with a region lookup. Done with the ORM, it
opens a database connection (connections are not kept between requests) and
builds the model from the row: more CPU than the rest of a simple request.

Design: the database holds one stamp row (:class:`~multicloud.vims.models.RegistryStamp`)
that triggers rewrite with a fresh random value on *every* insert, update or
delete of a cloud region row, whichever replica, worker, command or SQL client
makes it. A worker keeps found and not-found lookups keyed by (owner, region)
together with the stamp they were read under. Each lookup first reads the
stamp (one indexed row), then:

* same stamp as the cache's: the cached answer is used;
* another stamp: the whole cache is dropped and the region is read again.

The stamp is read before the row, so a change committed in between leaves a
record cached under the old stamp, which the next lookup discards. The stamp
query runs on the thread's Django connection when it is already open (it may
hold a transaction whose own changes must be seen), otherwise on one
connection per worker kept open for this query alone (the ORM connection of
the request is never opened for a cache hit). If the stamp cannot be read,
the lookup goes to the database uncached. A registration change is therefore
seen by every worker of every replica on its next lookup; nothing relies on
time-outs or on messages between replicas.
"""

from __future__ import annotations

import copy
import os
import threading
from collections import OrderedDict
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections

from multicloud.vims.models import CloudRegion

#: Lookups remembered per worker (found or not), least recently used dropped first.
CACHE_SIZE = 1024
STAMP_QUERY = "SELECT value FROM vims_registrystamp WHERE id = 1"


def _query_stamp(db) -> int | None:  # noqa: ANN001 (a Django DatabaseWrapper)
    with db.cursor() as cursor:
        cursor.execute(STAMP_QUERY)
        row = cursor.fetchone()
    return None if row is None else int(row[0])


class _StampReader:
    """A worker's own database connection for the stamp query, kept open, one user at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid = 0
        self.db: Any = None

    def read(self) -> int | None:
        with self.lock:
            try:
                if self.db is None or self.pid != os.getpid():
                    # NOTE: a connection inherited across fork is never used (nor closed) here.
                    self.db = connections.create_connection(DEFAULT_DB_ALIAS)
                    self.db.inc_thread_sharing()
                    self.pid = os.getpid()
                return _query_stamp(self.db)
            except DatabaseError:
                self._drop()
                return None

    def _drop(self) -> None:
        db, self.db = self.db, None
        if db is not None and self.pid == os.getpid():
            try:
                db.close()
            except DatabaseError:
                pass


_reader = _StampReader()


def current_stamp() -> int | None:
    """The registry stamp now (None when it cannot be read: do not use the cache)."""
    if connection.connection is not None:
        try:
            return _query_stamp(connection)
        except DatabaseError:
            return None
    return _reader.read()


class RegionCache:
    """(owner, region) → record or None, valid for one stamp."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.stamp: int | None = None
        self.items: OrderedDict[tuple[str, str], CloudRegion | None] = OrderedDict()

    def get(self, key: tuple[str, str], stamp: int) -> tuple[bool, CloudRegion | None]:
        """(found, record); a new stamp empties the cache first."""
        with self.lock:
            if stamp != self.stamp:
                self.items.clear()
                self.stamp = stamp
                return False, None
            if key not in self.items:
                return False, None
            self.items.move_to_end(key)
            return True, self.items[key]

    def put(self, key: tuple[str, str], stamp: int, record: CloudRegion | None) -> None:
        with self.lock:
            if stamp != self.stamp:
                return
            self.items[key] = record
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.stamp = None


_regions = RegionCache()


def _load(owner: str, region: str) -> CloudRegion | None:
    return CloudRegion.objects.filter(cloud_owner=owner, cloud_region_id=region).first()


def find_region(owner: str, region: str) -> CloudRegion | None:
    """The region's record (a private copy: callers may change it), or None."""
    stamp = current_stamp()
    if stamp is None:
        return _load(owner, region)
    key = (owner, region)
    found, record = _regions.get(key, stamp)
    if not found:
        record = _load(owner, region)
        _regions.put(key, stamp, record)
    return copy.copy(record) if record is not None else None


def clear() -> None:
    """Forget every cached record (a cold worker)."""
    _regions.clear()


def close() -> None:
    """Close the worker's stamp connection (it reopens when needed)."""
    with _reader.lock:
        _reader._drop()
