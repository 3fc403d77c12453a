"""THE route table. Django's URLconf and the Pecan app are both built from it.

Order is precedence: the first pattern that matches a path owns it, and a
method it does not list gets 405 with ``Allow``. A test pins this table, so
every change here is a reviewed diff.
"""

from __future__ import annotations

from multicloud.api.routing import Route, Router
from multicloud.api.swagger import swagger_json
from multicloud.broker import handlers as broker
from multicloud.health import handlers as health

MC = "/api/multicloud"
VIO = "/api/multicloud-vio"

ROUTES: tuple[Route, ...] = (
    Route(
        "swagger",
        ("GET",),
        f"{MC}/v0/swagger.json",
        swagger_json,
        "Swagger 2.0 document of the broker API",
    ),
    Route(
        "vio_swagger",
        ("GET",),
        f"{VIO}/v0/swagger.json",
        swagger_json,
        "Swagger 2.0 document of the VIO/OpenStack plugin API",
    ),
    Route(
        "vim_types_v0",
        ("GET",),
        f"{MC}/v0/vim_types",
        broker.vim_types,
        "Cloud types and versions this service supports",
    ),
    Route(
        "vim_types_v1",
        ("GET",),
        f"{MC}/v1/vim_types",
        broker.vim_types,
        "Cloud types and versions this service supports",
    ),
    Route(
        "healthcheck_v0",
        ("GET",),
        f"{MC}/v0/healthcheck",
        health.healthcheck,
        "Whether the service and its database are up",
    ),
    Route(
        "healthcheck_v1",
        ("GET",),
        f"{MC}/v1/healthcheck",
        health.healthcheck,
        "Whether the service and its database are up",
    ),
)

ROUTER = Router(ROUTES)
