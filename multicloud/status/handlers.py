"""HTTP handler: ``check_vim_status``, the region's VMs in the asked states."""

from __future__ import annotations

from multicloud.http import Request, Response, json_response
from multicloud.status import service as status
from multicloud.vims import service as vims


def check_vim_status(request: Request) -> Response:
    """POST .../check_vim_status {"states": [...]}: the region's VMs in those states."""
    body = request.json_object()
    region = vims.region_of(request)
    servers = status.vm_status(region, body.get("states"))
    return json_response(
        {**vims.region_fields(region), "states": body.get("states"), "servers": servers}
    )
