"""The registry interface: the ``local`` backend (this service's database) or ``aai``.

``MULTICLOUD_REGISTRY`` picks one; handlers only call the three functions here.
"""

from __future__ import annotations

from typing import Any

from multicloud.conf import get_settings
from multicloud.http import Request
from multicloud.vims import aai_registry, aai_resolve, service


def _aai_mode() -> bool:
    return get_settings().aai.enabled


def register(request: Request) -> dict[str, Any]:
    """POST .../registry → the registration as GET shows it (answered with 202)."""
    owner, region = service.region_key(request.params)
    if _aai_mode():
        record = aai_registry.register(
            owner, region, request.json(required=False), request.base_url
        )
        aai_resolve.forget(owner, region)
        return aai_registry.describe(record)
    record, _created = service.register(owner, region, request.json())
    return service.describe(record)


def status(request: Request) -> dict[str, Any]:
    """GET .../registry."""
    record = service.region_of(request)
    if _aai_mode():
        return aai_registry.describe(record)
    return service.describe(record)


def unregister(request: Request) -> None:
    """DELETE .../{vimid}."""
    owner, region = service.region_key(request.params)
    if _aai_mode():
        aai_registry.unregister(owner, region)
        aai_resolve.forget(owner, region)
        return
    service.unregister(owner, region)
