"""infra_workload: SO's Heat stacks and their heatbridge into A&AI (framework-free).

Every answer, errors included, carries the envelope SO reads: ``template_type``,
``workload_id``, ``workload_status`` and ``workload_status_reason`` (A&AI contract
§5, §6). The stack lives in the project the ``Project`` header names (an id or a
name), by default the region's default tenant.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from multicloud.conf import get_settings
from multicloud.exceptions import BadRequest, Conflict, MulticloudError
from multicloud.resources import service as resources
from multicloud.vims.models import CloudRegion
from multicloud.workload import heatbridge, templates
from multicloud.workload.heat import Heat

TEMPLATE_TYPE = "HEAT"


def envelope(workload_id: str, status: str, reason: Any) -> dict[str, Any]:
    return {
        "template_type": TEMPLATE_TYPE,
        "workload_id": workload_id,
        "workload_status": status,
        "workload_status_reason": reason,
    }


@contextmanager
def failing(status: str, workload_id: str = "") -> Iterator[None]:
    """Errors raised inside carry the envelope too, with ``status`` and the message as reason."""
    try:
        yield
    except MulticloudError as exc:
        exc.extra = {**exc.extra, **envelope(workload_id, status, exc.message)}
        raise


def project_scope(record: CloudRegion, project: str | None) -> resources.Scope:
    """The project of the request (``Project``: an id or a name), else the region's default."""
    return resources.connect(record, project or record.default_tenant)


def create(record: CloudRegion, project: str | None, body: dict[str, Any], proxy: str) -> dict:
    """POST .../infra_workload: start creating the stack (201 ``CREATE_IN_PROGRESS``).

    ``proxy`` is this service's URL of the region (the stack's self link goes through
    its Heat passthrough).
    """
    stack_request = templates.parse(body)
    scope = project_scope(record, project)
    stack = Heat(scope).create(stack_request.heat_body())
    name, stack_id = quote(stack_request.stack_name, safe=""), stack["id"]
    link = f"{proxy}/heat/v1/{scope.project_id}/stacks/{name}/{stack_id}"
    reason = {"id": stack_id, "links": [{"href": link, "rel": "self"}]}
    return envelope(stack_id, "CREATE_IN_PROGRESS", reason)


def get(record: CloudRegion, project: str | None, key: str) -> dict[str, Any]:
    """GET .../infra_workload/{id or name}: the stack, and its heatbridge when it has one.

    ``workload_status`` is the stack's status, or the heatbridge's (UPDATE_*) once one
    was asked for, until the stack is being deleted; the whole stack is always under
    ``workload_status_reason.stack``, the heatbridge's state under ``.heatbridge``.
    """
    stack = Heat(project_scope(record, project)).find(key)
    status, reason = stack["stack_status"], {"stack": stack}
    job = heatbridge.find(record, stack["id"])
    if job is not None:
        heatbridge.resume_if_orphaned(job)
        reason["heatbridge"] = heatbridge.describe(job)
        if not status.startswith("DELETE"):
            status = reason["heatbridge"]["status"]
    return envelope(stack["id"], status, reason)


def lookup(
    record: CloudRegion, project: str | None, name: str | None, stack_id: str | None
) -> dict[str, Any]:
    """GET .../infra_workload?name=|id=: ``GET_COMPLETE`` and the matching stacks (maybe none)."""
    if not name and not stack_id:
        raise BadRequest("name the stack: ?name=<stack name> or ?id=<stack id>")
    stacks = Heat(project_scope(record, project)).lookup(name, stack_id)
    return envelope("", "GET_COMPLETE", {"stacks": stacks})


def start_heatbridge(
    record: CloudRegion, project: str | None, key: str, body: Any
) -> dict[str, Any]:
    """POST .../infra_workload/{id}: write the stack's servers into A&AI, in the background."""
    if not get_settings().aai.enabled:
        raise Conflict(
            "heatbridge writes into A&AI, and this service has no A&AI "
            "(MULTICLOUD_REGISTRY=local; set MULTICLOUD_REGISTRY=aai and AAI_URL)"
        )
    given = _vnf_ids(body)
    scope = project_scope(record, project)
    stack = Heat(scope).find(key)
    heatbridge.request(record, scope.project_id, stack, given)
    reason = f"heatbridge of stack {stack['stack_name']}/{stack['id']} into A&AI started"
    return envelope(stack["id"], "UPDATE_IN_PROGRESS", reason)


def delete(record: CloudRegion, project: str | None, key: str) -> None:
    """DELETE .../infra_workload/{id}: heatbridge's vservers out of A&AI, then the stack."""
    heat = Heat(project_scope(record, project))
    stack = heat.find(key)
    heatbridge.forget(record, stack["id"])
    heat.delete(stack)


def _vnf_ids(body: Any) -> dict[str, str]:
    """SO's ``{"generic-vnf-id", "vf-module-id"}`` (both optional)."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise BadRequest("the heatbridge body must be a JSON object")
    found = {}
    for name in ("generic-vnf-id", "vf-module-id"):
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"{name} must be a string", field=name)
        found[name] = (value or "").strip()
    return found
