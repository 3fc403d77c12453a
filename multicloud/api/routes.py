"""THE route table. Django's URLconf and the Pecan app are both built from it.

Order is precedence: the first pattern that matches a path owns it, and a
method it does not list gets 405 with ``Allow``. A test pins this table, so
every change here is a reviewed diff.

Per-region routes exist in four forms: the broker namespace ``/api/multicloud``
and the VIO/OpenStack plugin namespace ``/api/multicloud-vio``, each with v0
``{vimid}`` (``{cloud-owner}_{cloud-region-id}``) and v1 ``{owner}/{region}``.
Both namespaces are served in-process by the same handlers.
"""

from __future__ import annotations

from collections.abc import Mapping

from multicloud.api import swagger
from multicloud.broker import handlers as broker
from multicloud.broker.dispatch import not_here, regional
from multicloud.capacity import handlers as capacity
from multicloud.events import handlers as events
from multicloud.health import handlers as health
from multicloud.http import Request, Response
from multicloud.images import handlers as images
from multicloud.ops import handlers as ops
from multicloud.proxy import handlers as proxy
from multicloud.proxy.catalog import SERVICES as PROXIED
from multicloud.resources.routes import ROUTES as TYPED
from multicloud.routing import Handlers, Route, Router
from multicloud.status import handlers as status
from multicloud.vims import handlers as vims
from multicloud.workload import handlers as workload
from multicloud.workload import schemas as workload_docs

ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


def per_region(
    name: str,
    methods: tuple[str, ...],
    suffix: str,
    handler: Handlers,
    summary: str,
    status: int = 200,
    docs: dict | None = None,
) -> tuple[Route, ...]:
    """The four forms of a per-region route (``suffix`` may be empty).

    Handlers are wrapped by the broker's dispatch, so a region served by an
    external plugin is forwarded there instead.
    """
    if isinstance(handler, Mapping):
        handler = {method: regional(h) for method, h in handler.items()}
    else:
        handler = regional(handler)
    forms = (
        ("", "multicloud", "v0", "{vimid}"),
        ("_v1", "multicloud", "v1", "{owner}/{region}"),
        ("_vio", "multicloud-vio", "v0", "{vimid}"),
        ("_vio_v1", "multicloud-vio", "v1", "{owner}/{region}"),
    )
    return tuple(
        Route(
            f"{name}{tag}",
            methods,
            f"/api/{namespace}/{version}/{region}{suffix}",
            handler,
            summary,
            status,
            namespace=namespace,
            version=version,
            resource=name,
            docs=docs,
        )
        for tag, namespace, version, region in forms
    )


def api(
    name: str,
    methods: tuple[str, ...],
    namespace: str,
    version: str,
    suffix: str,
    handler: Handlers,
    summary: str,
) -> Route:
    """A global route: ``/api/{namespace}/{version}/{suffix}``."""
    return Route(
        name,
        methods,
        f"/api/{namespace}/{version}/{suffix}",
        handler,
        summary,
        namespace=namespace,
        version=version,
        resource=name,
    )


def swagger_json(request: Request) -> Response:
    """GET {namespace}/v0|v1/swagger.json: generated from this table."""
    return swagger.serve(ROUTES, request.route.namespace, request.route.version)


ROUTES: tuple[Route, ...] = (
    api(
        "swagger",
        ("GET",),
        "multicloud",
        "v0",
        "swagger.json",
        swagger_json,
        "Swagger 2.0 document of the broker API",
    ),
    api(
        "vio_swagger",
        ("GET",),
        "multicloud-vio",
        "v0",
        "swagger.json",
        swagger_json,
        "Swagger 2.0 document of the VIO/OpenStack plugin API",
    ),
    api(
        "swagger_v1",
        ("GET",),
        "multicloud",
        "v1",
        "swagger.json",
        swagger_json,
        "Swagger 2.0 document of the broker API, v1 paths",
    ),
    api(
        "vio_swagger_v1",
        ("GET",),
        "multicloud-vio",
        "v1",
        "swagger.json",
        swagger_json,
        "Swagger 2.0 document of the VIO/OpenStack plugin API, v1 paths",
    ),
    api(
        "vim_types_v0",
        ("GET",),
        "multicloud",
        "v0",
        "vim_types",
        broker.vim_types,
        "Cloud types and versions this service supports",
    ),
    api(
        "vim_types_v1",
        ("GET",),
        "multicloud",
        "v1",
        "vim_types",
        broker.vim_types,
        "Cloud types and versions this service supports",
    ),
    api(
        "healthcheck_v0",
        ("GET",),
        "multicloud",
        "v0",
        "healthcheck",
        health.healthcheck,
        "Whether the service and its database are up",
    ),
    api(
        "healthcheck_v1",
        ("GET",),
        "multicloud",
        "v1",
        "healthcheck",
        health.healthcheck,
        "Whether the service and its database are up",
    ),
    api(
        "check_vim_capacity_v0",
        ("POST",),
        "multicloud",
        "v0",
        "check_vim_capacity",
        capacity.check_vim_capacity,
        "Which of the listed regions can host the given vCPU/Memory(GB)/Storage(GB)",
    ),
    api(
        "check_vim_capacity_v1",
        ("POST",),
        "multicloud",
        "v1",
        "check_vim_capacity",
        capacity.check_vim_capacity,
        "Which of the listed regions can host the given vCPU/Memory(GB)/Storage(GB), with AZs",
    ),
    # Operator endpoints (multicloud/ops): metrics of every worker, the Swagger UI page.
    # NOTE: /metrics (Prometheus' default path) is outside every namespace and document.
    Route("metrics", ("GET",), "/metrics", ops.metrics_text, "Prometheus metrics", namespace=""),
    api(
        "metrics_v0",
        ("GET",),
        "multicloud",
        "v0",
        "metrics",
        ops.metrics_text,
        "Prometheus metrics",
    ),
    api(
        "docs_v0",
        ("GET",),
        "multicloud",
        "v0",
        "docs",
        ops.docs,
        "Swagger UI over the API documents",
    ),
    api(
        "docs_asset_v0",
        ("GET",),
        "multicloud",
        "v0",
        "docs/{asset}",
        ops.docs_asset,
        "A file of the Swagger UI page",
    ),
    *per_region(
        "registry",
        ("GET", "POST"),
        "/registry",
        {"POST": vims.register, "GET": vims.registry_status},
        "Register a cloud region (A&AI cloud-region JSON; 202) or read its discovery",
    ),
    *per_region("tenants", ("GET",), "/tenants", vims.list_tenants, "Projects of the cloud region"),
    *per_region(
        "capacity_check",
        ("POST",),
        "/capacity_check",
        capacity.capacity_check,
        "Whether vCPU/Memory(GB)/Storage(GB) fit in the region (quota and a hypervisor)",
    ),
    # SO's Heat stacks (multicloud/workload). NOTE: before the generic passthrough
    # ("/{service}/{rest}") and the typed {tenantid} routes, which would take them.
    *per_region(
        "infra_workload",
        ("GET", "POST"),
        "/infra_workload",
        workload.COLLECTION,
        "Create a Heat stack for SO (201), or look stacks up (?name= or ?id=)",
        docs=workload_docs.COLLECTION_DOCS,
    ),
    *per_region(
        "infra_workload_item",
        ("GET", "POST", "DELETE"),
        "/infra_workload/{workloadid}",
        workload.ITEM,
        "A stack by id or name; heatbridge it into A&AI (202); delete it (204)",
        docs=workload_docs.ITEM_DOCS,
    ),
    # NOTE: the OpenStack passthrough comes before every typed {tenant} route
    # (images, servers, networks, ...): its first segment is a fixed service name
    # (identity, nova, glance, neutron, cinder*, heat, designate), never a project
    # id, so ".../{vimid}/neutron/networks" reaches Neutron and is not taken for
    # tenant "neutron" (defect 3), while a real tenant id cannot collide with it.
    *per_region(
        "proxy_token",
        ("GET", "POST", "DELETE"),
        "/identity/v3/auth/tokens",
        {"POST": proxy.issue_token, "GET": proxy.token, "DELETE": proxy.token},
        "Keystone v3 token (201, catalog pointing at this proxy); validate or revoke",
    ),
    *(
        route
        for name in PROXIED
        for suffix in ("", "/{rest}")
        for route in per_region(
            f"proxy_{name}{'_rest' if suffix else ''}",
            ALL_METHODS,
            f"/{name}{suffix}",
            proxy.proxy(name),
            f"Passthrough to the region's {name} service (streamed, URLs rewritten)",
        )
    ),
    # NOTE: images/file before images/{imageid}, or "file" would be taken for an id.
    *per_region(
        "image_upload",
        ("POST",),
        "/{tenantid}/images/file",
        images.upload,
        "Upload an image file (multipart, raw stream or a staged source) to Glance (201)",
        201,
    ),
    *per_region(
        "image_file",
        ("GET", "POST"),
        "/{tenantid}/images/file/{imageid}",
        {"GET": images.download, "POST": images.export},
        "Download an image's bytes (Range supported), or write them into the export dir",
    ),
    *per_region(
        "images",
        ("GET", "POST"),
        "/{tenantid}/images",
        {"GET": images.list_images, "POST": images.create_from_url},
        "List images (?name=&limit=&marker=) or create one from an allowed URL (202)",
    ),
    *per_region(
        "image",
        ("GET", "DELETE"),
        "/{tenantid}/images/{imageid}",
        {"GET": images.get_image, "DELETE": images.delete_image},
        "One image, or delete it (204)",
    ),
    # NOTE: the typed API (multicloud/resources/routes.py): flavors, servers (+ action),
    # networks, subnets, ports, volumes, hosts, limits, extensions.
    *(
        route
        for name, methods, suffix, handler, summary, docs in TYPED
        for route in per_region(name, methods, suffix, handler, summary, docs=docs)
    ),
    *per_region(
        "region", ("DELETE",), "", vims.unregister, "Unregister the cloud region (204)", 204
    ),
    *per_region(
        "event_subscriptions",
        ("GET", "POST", "DELETE"),
        "/event_subscriptions",
        {"GET": events.list_subscriptions, "POST": events.subscribe, "DELETE": events.unsubscribe},
        "VM event subscriptions: which event kinds go to which Message Router topic",
    ),
    *per_region(
        "events",
        ("GET",),
        "/events",
        events.list_events,
        "Stored VM events of the region, for pollers (?states=&since=&limit=)",
    ),
    *per_region(
        "check_vim_status",
        ("POST",),
        "/check_vim_status",
        status.check_vim_status,
        "The region's VMs in the given states, polled from Nova",
    ),
    # NOTE: the passthrough of catalog services without a special mapping (placement,
    # ...), as multicloud/proxy/catalog.py names them; after every fixed route.
    *(
        route
        for suffix in ("", "/{rest}")
        for route in per_region(
            f"proxy_service{'_rest' if suffix else ''}",
            ALL_METHODS,
            f"/{{service}}{suffix}",
            proxy.generic,
            "Passthrough to another service of the region's catalog, by its type",
        )
    ),
    # NOTE: keep this LAST: anything else under a region goes to the region's
    # external plugin when it has one, and is a JSON 404 when served in-process.
    *per_region(
        "forward",
        ALL_METHODS,
        "/{rest}",
        not_here,
        "Forwarded to the region's external plugin (404 for in-process regions)",
    ),
)

ROUTER = Router(ROUTES)
