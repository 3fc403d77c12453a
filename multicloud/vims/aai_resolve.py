"""In ``aai`` mode, what A&AI says a vimid is: its cloud-type and cloud-region-version.

Answers are cached per process for a short time (never one A&AI call per
request); a region A&AI does not hold is remembered for less. A&AI unreachable
or slow is a 503, bounded by the client's timeout (``MULTICLOUD_CLOUD_TIMEOUT``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from multicloud.aai import client as aai
from multicloud.exceptions import NotFound

#: Seconds a cloud-region's type is trusted (A&AI changes it rarely).
TTL = 30.0
#: Seconds an unknown region stays unknown (ESR may be writing it right now).
MISSING_TTL = 3.0


@dataclass(frozen=True)
class CloudKind:
    cloud_type: str
    version: str


_lock = threading.Lock()
_cache: dict[tuple[str, str], tuple[float, CloudKind | None]] = {}


def resolve(owner: str, region: str, fresh: bool = False) -> CloudKind:
    """The region's kind; NotFound when A&AI does not hold it, 503 when A&AI is away."""
    key = (owner, region)
    now = time.monotonic()
    with _lock:
        cached = None if fresh else _cache.get(key)
    if cached is not None and cached[0] > now:
        kind = cached[1]
    else:
        kind = _read(owner, region)
        with _lock:
            _cache[key] = (now + (TTL if kind else MISSING_TTL), kind)
    if kind is None:
        raise NotFound(f"cloud region {owner}_{region} is not in A&AI")
    return kind


def _read(owner: str, region: str) -> CloudKind | None:
    found = aai.client().get(aai.cloud_region_path(owner, region))
    if found is None:
        return None
    return CloudKind(
        str(found.get("cloud-type") or "").lower(), str(found.get("cloud-region-version") or "")
    )


def forget(owner: str, region: str) -> None:
    """Drop a cached answer (after this service registered or unregistered the region)."""
    with _lock:
        _cache.pop((owner, region), None)


def clear() -> None:
    with _lock:
        _cache.clear()
