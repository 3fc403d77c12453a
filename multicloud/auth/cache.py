"""A small thread-safe cache with per-entry expiry and a size bound."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any


class TTLCache:
    """Keys expire ``ttl`` seconds after :meth:`put` (or at the given deadline)."""

    def __init__(self, ttl: float, max_entries: int = 10000):
        self.ttl = ttl
        self.max_entries = max_entries
        self._items: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, default: Any = None) -> Any:
        """The live value of ``key``, else ``default``."""
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return default
            deadline, value = entry
            if deadline <= time.monotonic():
                del self._items[key]
                return default
            return value

    def put(self, key: Any, value: Any, deadline: float | None = None) -> None:
        """Store ``value`` until ``deadline`` (monotonic) or ``ttl`` from now, the earlier."""
        if self.ttl <= 0:
            return
        limit = time.monotonic() + self.ttl
        with self._lock:
            self._items[key] = (min(limit, deadline) if deadline else limit, value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
