"""Prometheus metrics of the service, in every worker of either mode.

``run.sh`` (:mod:`multicloud.launch`) points ``PROMETHEUS_MULTIPROC_DIR`` at an
emptied directory before the server starts, so ``prometheus_client`` keeps each
worker's samples in a file there and :func:`exposition` sums every file, those of
workers that have since been replaced included. Without it (tests in-process,
``manage.py`` commands) the samples live in this process only.

Other modules record through the small functions here; a new client of an
upstream service calls :func:`observe_upstream` (or uses :func:`upstream_call`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from multicloud.conf import get_settings

#: Latency buckets (seconds) for requests and upstream calls.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

REQUESTS = Counter(
    "multicloud_http_requests_total",
    "HTTP requests served, by route name, method and status",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "multicloud_http_request_duration_seconds",
    "Time to the handler's answer (streamed bodies not included), by route name and method",
    ["route", "method"],
    buckets=BUCKETS,
)
UPSTREAM = Counter(
    "multicloud_upstream_requests_total",
    "Calls to upstream services (keystone, nova, glance, neutron, cinder, heat, aai, "
    "message_router, plugin, ...) by outcome",
    ["service", "outcome"],
)
UPSTREAM_SECONDS = Histogram(
    "multicloud_upstream_request_duration_seconds",
    "Time of one upstream call until its answer's headers, by service",
    ["service"],
    buckets=BUCKETS,
)
IMAGE_BYTES = Counter(
    "multicloud_image_bytes_total",
    "Image bytes received from callers (direction=in) and sent to them (direction=out)",
    ["direction"],
)

#: OpenStack service types (keystoneauth's names) → the service label.
SERVICE_LABELS = {
    "identity": "keystone",
    "compute": "nova",
    "image": "glance",
    "network": "neutron",
    "volume": "cinder",
    "volumev2": "cinder",
    "volumev3": "cinder",
    "block-storage": "cinder",
    "orchestration": "heat",
    "placement": "placement",
    "dns": "designate",
    "cinderv2": "cinder",
    "cinderv3": "cinder",
}


def service_label(service_type: str | None) -> str:
    """The ``service`` label of an OpenStack service type (or proxy service name)."""
    if not service_type:
        return "keystone"
    name = service_type.lower()
    return SERVICE_LABELS.get(name, name)


def outcome_of(status: int | None) -> str:
    """``2xx``..``5xx`` for an HTTP answer, ``error`` when none came."""
    if status is None:
        return "error"
    return f"{status // 100}xx"


def observe_upstream(service: str, outcome: str, seconds: float) -> None:
    """Record one call to ``service`` (e.g. ``"aai"``) that ended as ``outcome``.

    ``outcome`` is :func:`outcome_of` the HTTP status (``"2xx"`` ... ``"5xx"``) or
    ``"error"`` (no answer: connection refused, timeout, TLS).
    """
    UPSTREAM.labels(service, outcome).inc()
    UPSTREAM_SECONDS.labels(service).observe(seconds)


class UpstreamCall:
    """What :func:`upstream_call` hands its block: set ``status`` once it is known."""

    __slots__ = ("status",)

    def __init__(self) -> None:
        self.status: int | None = None


@contextmanager
def upstream_call(service: str) -> Iterator[UpstreamCall]:
    """Time the block as one call to ``service``; no status set (or an exception) is ``error``."""
    call = UpstreamCall()
    started = time.perf_counter()
    try:
        yield call
    finally:
        observe_upstream(service, outcome_of(call.status), time.perf_counter() - started)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Record one served request."""
    REQUESTS.labels(route, method, str(status)).inc()
    REQUEST_SECONDS.labels(route, method).observe(seconds)


def count_image_bytes(direction: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Pass ``chunks`` through, counting their bytes as ``direction`` (``in``/``out``)."""
    counter = IMAGE_BYTES.labels(direction)
    for chunk in chunks:
        counter.inc(len(chunk))
        yield chunk


class CountingReader:
    """A body stream whose ``read`` counts the image bytes received (direction ``in``)."""

    def __init__(self, stream: Any):
        self._stream = stream
        self._counter = IMAGE_BYTES.labels("in")

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._counter.inc(len(data))
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def exposition() -> tuple[bytes, str]:
    """The text exposition (every worker's samples in multiprocess mode) and its type."""
    if get_settings().metrics_dir is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(get_settings().metrics_dir))
    return generate_latest(registry), CONTENT_TYPE_LATEST
