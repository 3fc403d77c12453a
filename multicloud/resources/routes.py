"""The typed API's part of the route table (``multicloud/api/routes.py`` adds the four forms).

Each entry: (name, methods, suffix below the region, handlers, summary, Swagger docs).
"""

from __future__ import annotations

from typing import Any

from multicloud.resources import handlers as h
from multicloud.resources import schemas as s
from multicloud.routing import Doc

PAGED = ("limit", "marker", "name")


def _typed(
    plural: str,
    singular: str,
    handlers: tuple[dict, dict],
    request: dict,
    answer: dict,
    status: int,
) -> list[tuple[Any, ...]]:
    """The collection and item routes of one resource."""
    collection, item = handlers
    key = f"{singular}id"
    return [
        (
            plural,
            ("GET", "POST"),
            f"/{{tenantid}}/{plural}",
            collection,
            f"List {plural} (?limit=&marker=&name=), or create one (200 if it exists)",
            {
                "GET": Doc(200, None, s.listing(plural, answer), PAGED),
                "POST": Doc(status, request, s.created(answer)),
            },
        ),
        (
            singular,
            ("GET", "DELETE"),
            f"/{{tenantid}}/{plural}/{{{key}}}",
            item,
            f"One {singular} by id or name, or delete it (204)",
            {"GET": Doc(200, None, answer), "DELETE": Doc(204)},
        ),
    ]


ROUTES: list[tuple[Any, ...]] = [
    *_typed("flavors", "flavor", (h.FLAVORS, h.FLAVOR), s.FLAVOR_REQUEST, s.FLAVOR, 201),
    (
        "server_action",
        ("POST",),
        "/{tenantid}/servers/{serverid}/action",
        h.server_action,
        "os-start, os-stop, reboot (SOFT|HARD), pause, unpause, suspend or resume (202)",
        {"POST": Doc(202, s.SERVER_ACTION)},
    ),
    *_typed("servers", "server", (h.SERVERS, h.SERVER), s.SERVER_REQUEST, s.SERVER, 202),
    *_typed("networks", "network", h.NETWORK_KINDS["network"], s.NETWORK_REQUEST, s.NETWORK, 201),
    *_typed("subnets", "subnet", h.NETWORK_KINDS["subnet"], s.SUBNET_REQUEST, s.SUBNET, 201),
    *_typed("ports", "port", h.NETWORK_KINDS["port"], s.PORT_REQUEST, s.PORT, 201),
    *_typed("volumes", "volume", (h.VOLUMES, h.VOLUME), s.VOLUME_REQUEST, s.VOLUME, 202),
    (
        "hosts",
        ("GET",),
        "/{tenantid}/hosts",
        h.list_hosts,
        "Nova services: host, binary, zone",
        {"GET": Doc(200, None, s.HOSTS)},
    ),
    (
        "host",
        ("GET",),
        "/{tenantid}/hosts/{hostname}",
        h.get_host,
        "One hypervisor by host name or id: CPU, memory, disk and their use",
        {"GET": Doc(200, None, s.HOST)},
    ),
    (
        "limits",
        ("GET",),
        "/{tenantid}/limits",
        h.limits,
        "Nova, Cinder and Neutron quotas of the project, and their usage",
        {"GET": Doc(200, None, s.LIMITS)},
    ),
    (
        "extensions",
        ("GET",),
        "/extensions",
        h.extensions,
        "API extensions of the region",
        {"GET": Doc(200, None, s.EXTENSIONS)},
    ),
]
