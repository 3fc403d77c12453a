"""Heat calls of infra_workload, on a project's session (the OpenStack client seam).

Errors are the cloud's, translated by :mod:`multicloud.openstack.client`: a template
Heat refuses is 400 with Heat's message, an unknown stack 404, a name in use 409.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from keystoneauth1 import adapter as ks_adapter

from multicloud.exceptions import NotFound
from multicloud.openstack import client
from multicloud.resources.service import Scope

SERVICE_TYPE = "orchestration"
#: Levels of nested stacks listed with a stack's resources (Heat caps it at its own
#: ``max_nested_stack_depth``, 5 by default).
NESTED_DEPTH = 10
#: Status of a stack Heat has deleted (still shown when asked for by id).
DELETED = "DELETE_COMPLETE"


class Heat:
    """The orchestration service of one project of a region."""

    def __init__(self, scope: Scope):
        self.scope = scope
        self.what = scope.what(SERVICE_TYPE)
        if SERVICE_TYPE not in scope.catalog_types():
            raise NotFound(
                f"cloud region {scope.region.vim_id} has no orchestration (Heat) service"
            )
        self.adapter: ks_adapter.Adapter = client.service_adapter(
            scope.session, scope.region, SERVICE_TYPE
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        return client.call(self.adapter, method, path, what=self.what, **kwargs)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /stacks``: ``{"id", "links"}`` of the new stack."""
        return self.call("POST", "/stacks", json=body)["stack"]

    def find(self, key: str) -> dict[str, Any]:
        """The stack named or identified by ``key`` (Heat redirects to its full URL); else 404.

        A stack Heat has deleted is 404 too (Heat still shows it when asked by id).
        """
        stack = self.call("GET", f"/stacks/{_segment(key)}")["stack"]
        if stack.get("stack_status") == DELETED:
            raise NotFound(f"stack {key!r} has been deleted")
        return stack

    def lookup(self, name: str | None, stack_id: str | None) -> list[dict[str, Any]]:
        """``GET /stacks?name=&id=``: the summaries of the matching live stacks."""
        params = [(k, v) for k, v in (("name", name), ("id", stack_id)) if v]
        found = self.call("GET", "/stacks", params=params)["stacks"]
        # NOTE: Heat lists a stack it has just deleted for a moment, as DELETE_COMPLETE.
        return [s for s in found if s.get("stack_status") != DELETED]

    def resources(self, stack: dict[str, Any]) -> list[dict[str, Any]]:
        """Every resource of ``stack`` and of its nested stacks."""
        path = f"{_stack_path(stack)}/resources"
        return self.call("GET", path, params={"nested_depth": NESTED_DEPTH})["resources"]

    def delete(self, stack: dict[str, Any]) -> None:
        """``DELETE /stacks/{name}/{id}``, whatever the stack's state (Heat works on)."""
        self.call("DELETE", _stack_path(stack))


def _segment(value: str) -> str:
    return quote(value, safe="")


def _stack_path(stack: dict[str, Any]) -> str:
    return f"/stacks/{_segment(stack['stack_name'])}/{_segment(stack['id'])}"
