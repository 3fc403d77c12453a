"""``check_vim_status``: the region's VMs in the asked states, polled from Nova.

Framework-free. For clouds that cannot be listened to. ``states`` may hold event kinds
(what subscriptions use) or Nova vm_state names; each kind means the vm_state a VM is left
in by that action (POWER_OFF/SHUT_DOWN -> stopped, PAUSE -> paused, ...; REBUILD matches a
VM whose task_state is a rebuild step). Asking for DELETE also lists deleted servers that
Nova still reports (``deleted=true``, admin only).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from multicloud.event_kinds import KIND_NAMES, Kind, format_timestamp
from multicloud.exceptions import BadRequest, UpstreamError
from multicloud.openstack.client import adapter, translate_errors

#: Kind -> Nova vm_states that a VM is in after that action.
KIND_VM_STATES: dict[Kind, tuple[str, ...]] = {
    Kind.CREATE: ("building",),
    Kind.DELETE: ("deleted",),
    Kind.SOFT_DELETE: ("soft-delete",),
    Kind.SHUT_DOWN: ("stopped",),
    Kind.POWER_OFF: ("stopped",),
    Kind.POWER_ON: ("active",),
    Kind.PAUSE: ("paused",),
    Kind.UNPAUSE: ("active",),
    Kind.SUSPEND: ("suspended",),
    Kind.RESUME: ("active",),
    Kind.REBOOT: ("active",),
    Kind.REBUILD: (),  # matched on task_state, see _matches
    Kind.SHELVE: ("shelved", "shelved_offloaded"),
    Kind.UNSHELVE: ("active",),
    Kind.RESIZE: ("resized",),
    Kind.RESTORE: ("active",),
    Kind.UPDATE: (),
    Kind.ERROR: ("error",),
}
VM_STATES = (
    "active",
    "building",
    "paused",
    "suspended",
    "stopped",
    "rescued",
    "resized",
    "soft-delete",
    "deleted",
    "error",
    "shelved",
    "shelved_offloaded",
)
PAGE = 1000
#: Most pages read (a cloud could answer full pages for ever).
MAX_PAGES = 100


def parse_states(value: Any) -> tuple[set[str], bool]:
    """The vm_states asked for, and whether rebuilding VMs are asked for too."""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise BadRequest('states must be a non-empty list, e.g. {"states": ["PAUSE"]}')
    wanted: set[str] = set()
    rebuild = False
    for item in value:
        name = item.strip()
        if name.upper() in KIND_NAMES:
            wanted.update(KIND_VM_STATES[Kind(name.upper())])
            rebuild = rebuild or name.upper() == "REBUILD"
        elif name.lower() in VM_STATES:
            wanted.add(name.lower())
        else:
            raise BadRequest(
                f"unknown state {item!r}", kinds=list(KIND_NAMES), vm_states=list(VM_STATES)
            )
    return wanted, rebuild


def vm_status(region: Any, states: Any) -> list[dict[str, Any]]:
    """VMs of every project of the region whose state was asked for."""
    wanted, rebuild = parse_states(states)
    nova = adapter(region, "compute")
    with translate_errors(f"the compute service of {region.vim_id}"):
        servers = _servers(nova, {"all_tenants": 1})
        if "deleted" in wanted:
            servers += _servers(nova, {"all_tenants": 1, "deleted": "true"})
    seen: set[str] = set()
    found = []
    for server in servers:
        if server["id"] in seen or not _matches(server, wanted, rebuild):
            continue
        seen.add(server["id"])
        found.append(_describe(server))
    return found


def changed_servers(region: Any, since: datetime | None) -> list[dict[str, Any]]:
    """Every project's servers of the region whose state changed since ``since`` (Nova's
    ``changes-since``, which also lists servers deleted since then), or all of them (None);
    Nova's own representation (``OS-EXT-STS:vm_state``, ``updated``, ...)."""
    params: dict[str, Any] = {"all_tenants": 1}
    if since is not None:
        params["changes-since"] = format_timestamp(since)
    nova = adapter(region, "compute")
    with translate_errors(f"the compute service of {region.vim_id}"):
        return _servers(nova, params)


def _servers(nova: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every server, page by page: at most ``MAX_PAGES`` pages, each marker new (M1)."""
    found: list[dict[str, Any]] = []
    marker = None
    markers: set[str] = set()
    for _ in range(MAX_PAGES):
        query = {**params, "limit": PAGE, **({"marker": marker} if marker else {})}
        page = nova.get("/servers/detail", params=query).json().get("servers", [])
        found += page
        if len(page) < PAGE:
            return found
        marker = str(page[-1]["id"])
        if marker in markers:
            raise UpstreamError("the compute service answers the same page again")
        markers.add(marker)
    raise UpstreamError(f"the compute service lists more than {MAX_PAGES * PAGE} servers")


def _matches(server: dict[str, Any], wanted: set[str], rebuild: bool) -> bool:
    task = server.get("OS-EXT-STS:task_state") or ""
    return server.get("OS-EXT-STS:vm_state") in wanted or (rebuild and task.startswith("rebuild"))


def _describe(server: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": server["id"],
        "name": server.get("name"),
        "tenant_id": server.get("tenant_id"),
        "state": server.get("OS-EXT-STS:vm_state"),
        "state_description": server.get("OS-EXT-STS:task_state") or "",
        "launched_at": server.get("OS-SRV-USG:launched_at") or "",
        "status": server.get("status"),
        "power_state": server.get("OS-EXT-STS:power_state"),
        "host": server.get("OS-EXT-SRV-ATTR:host"),
    }
