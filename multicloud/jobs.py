"""Background jobs: a database record per job, run in a thread of the worker serving it.

The record (a region's discovery state, a heatbridge job) is what every worker and
replica sees; :func:`start` runs the work in a daemon thread (a green thread under
the pecan mode's Eventlet) that carries the ONAP transaction ids of the request
that started it. Callers start a job once its record is committed
(``transaction.on_commit``), so the thread always finds it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from multicloud import transaction

#: Every job thread's name starts with this (tests wait for them to end).
THREAD_PREFIX = "job-"


def start(name: str, target: Callable[..., Any], *args: Any) -> threading.Thread:
    """Run ``target(*args)`` in a daemon thread named ``job-{name}``."""
    thread = threading.Thread(
        target=transaction.propagating(target),
        args=args,
        name=f"{THREAD_PREFIX}{name}",
        daemon=True,
    )
    thread.start()
    return thread


def lease(seconds: float) -> datetime:
    """When a lease taken now for ``seconds`` runs out (a job not renewed by then is orphaned)."""
    return timezone.now() + timedelta(seconds=seconds)
