"""The route table is pinned: any change to it shows up here as a reviewed diff."""

import re
from collections.abc import Mapping

import pytest

from multicloud.api.routes import ROUTER, ROUTES
from multicloud.exceptions import MethodNotAllowed, NotFound
from multicloud.routing import APIS, swagger_url

ALL = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
GPD = ("GET", "POST", "DELETE")
MCV1 = "/api/multicloud/v1/{owner}/{region}"
VIOV1 = "/api/multicloud-vio/v1/{owner}/{region}"

PINNED = [
    ("swagger", ("GET",), "/api/multicloud/v0/swagger.json"),
    ("vio_swagger", ("GET",), "/api/multicloud-vio/v0/swagger.json"),
    ("swagger_v1", ("GET",), "/api/multicloud/v1/swagger.json"),
    ("vio_swagger_v1", ("GET",), "/api/multicloud-vio/v1/swagger.json"),
    ("vim_types_v0", ("GET",), "/api/multicloud/v0/vim_types"),
    ("vim_types_v1", ("GET",), "/api/multicloud/v1/vim_types"),
    ("healthcheck_v0", ("GET",), "/api/multicloud/v0/healthcheck"),
    ("healthcheck_v1", ("GET",), "/api/multicloud/v1/healthcheck"),
    ("check_vim_capacity_v0", ("POST",), "/api/multicloud/v0/check_vim_capacity"),
    ("check_vim_capacity_v1", ("POST",), "/api/multicloud/v1/check_vim_capacity"),
    ("metrics", ("GET",), "/metrics"),
    ("metrics_v0", ("GET",), "/api/multicloud/v0/metrics"),
    ("docs_v0", ("GET",), "/api/multicloud/v0/docs"),
    ("docs_asset_v0", ("GET",), "/api/multicloud/v0/docs/{asset}"),
    ("registry", ("GET", "POST"), "/api/multicloud/v0/{vimid}/registry"),
    ("registry_v1", ("GET", "POST"), "/api/multicloud/v1/{owner}/{region}/registry"),
    ("registry_vio", ("GET", "POST"), "/api/multicloud-vio/v0/{vimid}/registry"),
    ("registry_vio_v1", ("GET", "POST"), "/api/multicloud-vio/v1/{owner}/{region}/registry"),
    ("tenants", ("GET",), "/api/multicloud/v0/{vimid}/tenants"),
    ("tenants_v1", ("GET",), "/api/multicloud/v1/{owner}/{region}/tenants"),
    ("tenants_vio", ("GET",), "/api/multicloud-vio/v0/{vimid}/tenants"),
    ("tenants_vio_v1", ("GET",), "/api/multicloud-vio/v1/{owner}/{region}/tenants"),
    ("capacity_check", ("POST",), "/api/multicloud/v0/{vimid}/capacity_check"),
    ("capacity_check_v1", ("POST",), "/api/multicloud/v1/{owner}/{region}/capacity_check"),
    ("capacity_check_vio", ("POST",), "/api/multicloud-vio/v0/{vimid}/capacity_check"),
    ("capacity_check_vio_v1", ("POST",), "/api/multicloud-vio/v1/{owner}/{region}/capacity_check"),
    ("infra_workload", ("GET", "POST"), "/api/multicloud/v0/{vimid}/infra_workload"),
    ("infra_workload_v1", ("GET", "POST"), f"{MCV1}/infra_workload"),
    ("infra_workload_vio", ("GET", "POST"), "/api/multicloud-vio/v0/{vimid}/infra_workload"),
    ("infra_workload_vio_v1", ("GET", "POST"), f"{VIOV1}/infra_workload"),
    ("infra_workload_item", GPD, "/api/multicloud/v0/{vimid}/infra_workload/{workloadid}"),
    ("infra_workload_item_v1", GPD, f"{MCV1}/infra_workload/{{workloadid}}"),
    (
        "infra_workload_item_vio",
        GPD,
        "/api/multicloud-vio/v0/{vimid}/infra_workload/{workloadid}",
    ),
    ("infra_workload_item_vio_v1", GPD, f"{VIOV1}/infra_workload/{{workloadid}}"),
    ("proxy_token", GPD, "/api/multicloud/v0/{vimid}/identity/v3/auth/tokens"),
    ("proxy_token_v1", GPD, "/api/multicloud/v1/{owner}/{region}/identity/v3/auth/tokens"),
    ("proxy_token_vio", GPD, "/api/multicloud-vio/v0/{vimid}/identity/v3/auth/tokens"),
    ("proxy_token_vio_v1", GPD, "/api/multicloud-vio/v1/{owner}/{region}/identity/v3/auth/tokens"),
    ("proxy_identity", ALL, "/api/multicloud/v0/{vimid}/identity"),
    ("proxy_identity_v1", ALL, "/api/multicloud/v1/{owner}/{region}/identity"),
    ("proxy_identity_vio", ALL, "/api/multicloud-vio/v0/{vimid}/identity"),
    ("proxy_identity_vio_v1", ALL, "/api/multicloud-vio/v1/{owner}/{region}/identity"),
    ("proxy_identity_rest", ALL, "/api/multicloud/v0/{vimid}/identity/{rest}"),
    ("proxy_identity_rest_v1", ALL, "/api/multicloud/v1/{owner}/{region}/identity/{rest}"),
    ("proxy_identity_rest_vio", ALL, "/api/multicloud-vio/v0/{vimid}/identity/{rest}"),
    ("proxy_identity_rest_vio_v1", ALL, "/api/multicloud-vio/v1/{owner}/{region}/identity/{rest}"),
    ("proxy_nova", ALL, "/api/multicloud/v0/{vimid}/nova"),
    ("proxy_nova_v1", ALL, "/api/multicloud/v1/{owner}/{region}/nova"),
    ("proxy_nova_vio", ALL, "/api/multicloud-vio/v0/{vimid}/nova"),
    ("proxy_nova_vio_v1", ALL, "/api/multicloud-vio/v1/{owner}/{region}/nova"),
    ("proxy_nova_rest", ALL, "/api/multicloud/v0/{vimid}/nova/{rest}"),
    ("proxy_nova_rest_v1", ALL, "/api/multicloud/v1/{owner}/{region}/nova/{rest}"),
    ("proxy_nova_rest_vio", ALL, "/api/multicloud-vio/v0/{vimid}/nova/{rest}"),
    ("proxy_nova_rest_vio_v1", ALL, "/api/multicloud-vio/v1/{owner}/{region}/nova/{rest}"),
    ("proxy_glance", ALL, "/api/multicloud/v0/{vimid}/glance"),
    ("proxy_glance_v1", ALL, "/api/multicloud/v1/{owner}/{region}/glance"),
    ("proxy_glance_vio", ALL, "/api/multicloud-vio/v0/{vimid}/glance"),
    ("proxy_glance_vio_v1", ALL, "/api/multicloud-vio/v1/{owner}/{region}/glance"),
    ("proxy_glance_rest", ALL, "/api/multicloud/v0/{vimid}/glance/{rest}"),
    ("proxy_glance_rest_v1", ALL, "/api/multicloud/v1/{owner}/{region}/glance/{rest}"),
    ("proxy_glance_rest_vio", ALL, "/api/multicloud-vio/v0/{vimid}/glance/{rest}"),
    ("proxy_glance_rest_vio_v1", ALL, "/api/multicloud-vio/v1/{owner}/{region}/glance/{rest}"),
    ("proxy_neutron", ALL, "/api/multicloud/v0/{vimid}/neutron"),
    ("proxy_neutron_v1", ALL, "/api/multicloud/v1/{owner}/{region}/neutron"),
    ("proxy_neutron_vio", ALL, "/api/multicloud-vio/v0/{vimid}/neutron"),
    ("proxy_neutron_vio_v1", ALL, "/api/multicloud-vio/v1/{owner}/{region}/neutron"),
    ("proxy_neutron_rest", ALL, "/api/multicloud/v0/{vimid}/neutron/{rest}"),
    ("proxy_neutron_rest_v1", ALL, "/api/multicloud/v1/{owner}/{region}/neutron/{rest}"),
    ("proxy_neutron_rest_vio", ALL, "/api/multicloud-vio/v0/{vimid}/neutron/{rest}"),
    ("proxy_neutron_rest_vio_v1", ALL, "/api/multicloud-vio/v1/{owner}/{region}/neutron/{rest}"),
    ("proxy_cinder", ALL, "/api/multicloud/v0/{vimid}/cinder"),
    ("proxy_cinder_v1", ALL, "/api/multicloud/v1/{owner}/{region}/cinder"),
    ("proxy_cinder_vio", ALL, "/api/multicloud-vio/v0/{vimid}/cinder"),
    ("proxy_cinder_vio_v1", ALL, "/api/multicloud-vio/v1/{owner}/{region}/cinder"),
    ("proxy_cinder_rest", ALL, "/api/multicloud/v0/{vimid}/cinder/{rest}"),
    ("proxy_cinder_rest_v1", ALL, "/api/multicloud/v1/{owner}/{region}/cinder/{rest}"),
    ("proxy_cinder_rest_vio", ALL, "/api/multicloud-vio/v0/{vimid}/cinder/{rest}"),
    ("proxy_cinder_rest_vio_v1", ALL, "/api/multicloud-vio/v1/{owner}/{region}/cinder/{rest}"),
    ("proxy_cinderv2", ALL, "/api/multicloud/v0/{vimid}/cinderv2"),
    ("proxy_cinderv2_v1", ALL, "/api/multicloud/v1/{owner}/{region}/cinderv2"),
    ("proxy_cinderv2_vio", ALL, "/api/multicloud-vio/v0/{vimid}/cinderv2"),
    ("proxy_cinderv2_vio_v1", ALL, "/api/multicloud-vio/v1/{owner}/{region}/cinderv2"),
    ("proxy_cinderv2_rest", ALL, "/api/multicloud/v0/{vimid}/cinderv2/{rest}"),
    ("proxy_cinderv2_rest_v1", ALL, "/api/multicloud/v1/{owner}/{region}/cinderv2/{rest}"),
    ("proxy_cinderv2_rest_vio", ALL, "/api/multicloud-vio/v0/{vimid}/cinderv2/{rest}"),
    ("proxy_cinderv2_rest_vio_v1", ALL, "/api/multicloud-vio/v1/{owner}/{region}/cinderv2/{rest}"),
    ("proxy_cinderv3", ALL, "/api/multicloud/v0/{vimid}/cinderv3"),
    ("proxy_cinderv3_v1", ALL, "/api/multicloud/v1/{owner}/{region}/cinderv3"),
    ("proxy_cinderv3_vio", ALL, "/api/multicloud-vio/v0/{vimid}/cinderv3"),
    ("proxy_cinderv3_vio_v1", ALL, "/api/multicloud-vio/v1/{owner}/{region}/cinderv3"),
    ("proxy_cinderv3_rest", ALL, "/api/multicloud/v0/{vimid}/cinderv3/{rest}"),
    ("proxy_cinderv3_rest_v1", ALL, "/api/multicloud/v1/{owner}/{region}/cinderv3/{rest}"),
    ("proxy_cinderv3_rest_vio", ALL, "/api/multicloud-vio/v0/{vimid}/cinderv3/{rest}"),
    ("proxy_cinderv3_rest_vio_v1", ALL, "/api/multicloud-vio/v1/{owner}/{region}/cinderv3/{rest}"),
    ("proxy_heat", ALL, "/api/multicloud/v0/{vimid}/heat"),
    ("proxy_heat_v1", ALL, "/api/multicloud/v1/{owner}/{region}/heat"),
    ("proxy_heat_vio", ALL, "/api/multicloud-vio/v0/{vimid}/heat"),
    ("proxy_heat_vio_v1", ALL, "/api/multicloud-vio/v1/{owner}/{region}/heat"),
    ("proxy_heat_rest", ALL, "/api/multicloud/v0/{vimid}/heat/{rest}"),
    ("proxy_heat_rest_v1", ALL, "/api/multicloud/v1/{owner}/{region}/heat/{rest}"),
    ("proxy_heat_rest_vio", ALL, "/api/multicloud-vio/v0/{vimid}/heat/{rest}"),
    ("proxy_heat_rest_vio_v1", ALL, "/api/multicloud-vio/v1/{owner}/{region}/heat/{rest}"),
    ("proxy_designate", ALL, "/api/multicloud/v0/{vimid}/designate"),
    ("proxy_designate_v1", ALL, "/api/multicloud/v1/{owner}/{region}/designate"),
    ("proxy_designate_vio", ALL, "/api/multicloud-vio/v0/{vimid}/designate"),
    ("proxy_designate_vio_v1", ALL, "/api/multicloud-vio/v1/{owner}/{region}/designate"),
    ("proxy_designate_rest", ALL, "/api/multicloud/v0/{vimid}/designate/{rest}"),
    ("proxy_designate_rest_v1", ALL, "/api/multicloud/v1/{owner}/{region}/designate/{rest}"),
    ("proxy_designate_rest_vio", ALL, "/api/multicloud-vio/v0/{vimid}/designate/{rest}"),
    (
        "proxy_designate_rest_vio_v1",
        ALL,
        "/api/multicloud-vio/v1/{owner}/{region}/designate/{rest}",
    ),
    ("image_upload", ("POST",), "/api/multicloud/v0/{vimid}/{tenantid}/images/file"),
    ("image_upload_v1", ("POST",), "/api/multicloud/v1/{owner}/{region}/{tenantid}/images/file"),
    ("image_upload_vio", ("POST",), "/api/multicloud-vio/v0/{vimid}/{tenantid}/images/file"),
    (
        "image_upload_vio_v1",
        ("POST",),
        "/api/multicloud-vio/v1/{owner}/{region}/{tenantid}/images/file",
    ),
    ("image_file", ("GET", "POST"), "/api/multicloud/v0/{vimid}/{tenantid}/images/file/{imageid}"),
    (
        "image_file_v1",
        ("GET", "POST"),
        "/api/multicloud/v1/{owner}/{region}/{tenantid}/images/file/{imageid}",
    ),
    (
        "image_file_vio",
        ("GET", "POST"),
        "/api/multicloud-vio/v0/{vimid}/{tenantid}/images/file/{imageid}",
    ),
    (
        "image_file_vio_v1",
        ("GET", "POST"),
        "/api/multicloud-vio/v1/{owner}/{region}/{tenantid}/images/file/{imageid}",
    ),
    ("images", ("GET", "POST"), "/api/multicloud/v0/{vimid}/{tenantid}/images"),
    ("images_v1", ("GET", "POST"), "/api/multicloud/v1/{owner}/{region}/{tenantid}/images"),
    ("images_vio", ("GET", "POST"), "/api/multicloud-vio/v0/{vimid}/{tenantid}/images"),
    ("images_vio_v1", ("GET", "POST"), "/api/multicloud-vio/v1/{owner}/{region}/{tenantid}/images"),
    ("image", ("GET", "DELETE"), "/api/multicloud/v0/{vimid}/{tenantid}/images/{imageid}"),
    (
        "image_v1",
        ("GET", "DELETE"),
        "/api/multicloud/v1/{owner}/{region}/{tenantid}/images/{imageid}",
    ),
    ("image_vio", ("GET", "DELETE"), "/api/multicloud-vio/v0/{vimid}/{tenantid}/images/{imageid}"),
    (
        "image_vio_v1",
        ("GET", "DELETE"),
        "/api/multicloud-vio/v1/{owner}/{region}/{tenantid}/images/{imageid}",
    ),
    ("flavors", ("GET", "POST"), "/api/multicloud/v0/{vimid}/{tenantid}/flavors"),
    ("flavors_v1", ("GET", "POST"), "/api/multicloud/v1/{owner}/{region}/{tenantid}/flavors"),
    ("flavors_vio", ("GET", "POST"), "/api/multicloud-vio/v0/{vimid}/{tenantid}/flavors"),
    (
        "flavors_vio_v1",
        ("GET", "POST"),
        "/api/multicloud-vio/v1/{owner}/{region}/{tenantid}/flavors",
    ),
    ("flavor", ("GET", "DELETE"), "/api/multicloud/v0/{vimid}/{tenantid}/flavors/{flavorid}"),
    (
        "flavor_v1",
        ("GET", "DELETE"),
        "/api/multicloud/v1/{owner}/{region}/{tenantid}/flavors/{flavorid}",
    ),
    (
        "flavor_vio",
        ("GET", "DELETE"),
        "/api/multicloud-vio/v0/{vimid}/{tenantid}/flavors/{flavorid}",
    ),
    (
        "flavor_vio_v1",
        ("GET", "DELETE"),
        "/api/multicloud-vio/v1/{owner}/{region}/{tenantid}/flavors/{flavorid}",
    ),
    ("server_action", ("POST",), "/api/multicloud/v0/{vimid}/{tenantid}/servers/{serverid}/action"),
    (
        "server_action_v1",
        ("POST",),
        "/api/multicloud/v1/{owner}/{region}/{tenantid}/servers/{serverid}/action",
    ),
    (
        "server_action_vio",
        ("POST",),
        "/api/multicloud-vio/v0/{vimid}/{tenantid}/servers/{serverid}/action",
    ),
    (
        "server_action_vio_v1",
        ("POST",),
        "/api/multicloud-vio/v1/{owner}/{region}/{tenantid}/servers/{serverid}/action",
    ),
    ("servers", ("GET", "POST"), "/api/multicloud/v0/{vimid}/{tenantid}/servers"),
    ("servers_v1", ("GET", "POST"), "/api/multicloud/v1/{owner}/{region}/{tenantid}/servers"),
    ("servers_vio", ("GET", "POST"), "/api/multicloud-vio/v0/{vimid}/{tenantid}/servers"),
    (
        "servers_vio_v1",
        ("GET", "POST"),
        "/api/multicloud-vio/v1/{owner}/{region}/{tenantid}/servers",
    ),
    ("server", ("GET", "DELETE"), "/api/multicloud/v0/{vimid}/{tenantid}/servers/{serverid}"),
    (
        "server_v1",
        ("GET", "DELETE"),
        "/api/multicloud/v1/{owner}/{region}/{tenantid}/servers/{serverid}",
    ),
    (
        "server_vio",
        ("GET", "DELETE"),
        "/api/multicloud-vio/v0/{vimid}/{tenantid}/servers/{serverid}",
    ),
    (
        "server_vio_v1",
        ("GET", "DELETE"),
        "/api/multicloud-vio/v1/{owner}/{region}/{tenantid}/servers/{serverid}",
    ),
    ("networks", ("GET", "POST"), "/api/multicloud/v0/{vimid}/{tenantid}/networks"),
    ("networks_v1", ("GET", "POST"), "/api/multicloud/v1/{owner}/{region}/{tenantid}/networks"),
    ("networks_vio", ("GET", "POST"), "/api/multicloud-vio/v0/{vimid}/{tenantid}/networks"),
    (
        "networks_vio_v1",
        ("GET", "POST"),
        "/api/multicloud-vio/v1/{owner}/{region}/{tenantid}/networks",
    ),
    ("network", ("GET", "DELETE"), "/api/multicloud/v0/{vimid}/{tenantid}/networks/{networkid}"),
    (
        "network_v1",
        ("GET", "DELETE"),
        "/api/multicloud/v1/{owner}/{region}/{tenantid}/networks/{networkid}",
    ),
    (
        "network_vio",
        ("GET", "DELETE"),
        "/api/multicloud-vio/v0/{vimid}/{tenantid}/networks/{networkid}",
    ),
    (
        "network_vio_v1",
        ("GET", "DELETE"),
        "/api/multicloud-vio/v1/{owner}/{region}/{tenantid}/networks/{networkid}",
    ),
    ("subnets", ("GET", "POST"), "/api/multicloud/v0/{vimid}/{tenantid}/subnets"),
    ("subnets_v1", ("GET", "POST"), "/api/multicloud/v1/{owner}/{region}/{tenantid}/subnets"),
    ("subnets_vio", ("GET", "POST"), "/api/multicloud-vio/v0/{vimid}/{tenantid}/subnets"),
    (
        "subnets_vio_v1",
        ("GET", "POST"),
        "/api/multicloud-vio/v1/{owner}/{region}/{tenantid}/subnets",
    ),
    ("subnet", ("GET", "DELETE"), "/api/multicloud/v0/{vimid}/{tenantid}/subnets/{subnetid}"),
    (
        "subnet_v1",
        ("GET", "DELETE"),
        "/api/multicloud/v1/{owner}/{region}/{tenantid}/subnets/{subnetid}",
    ),
    (
        "subnet_vio",
        ("GET", "DELETE"),
        "/api/multicloud-vio/v0/{vimid}/{tenantid}/subnets/{subnetid}",
    ),
    (
        "subnet_vio_v1",
        ("GET", "DELETE"),
        "/api/multicloud-vio/v1/{owner}/{region}/{tenantid}/subnets/{subnetid}",
    ),
    ("ports", ("GET", "POST"), "/api/multicloud/v0/{vimid}/{tenantid}/ports"),
    ("ports_v1", ("GET", "POST"), "/api/multicloud/v1/{owner}/{region}/{tenantid}/ports"),
    ("ports_vio", ("GET", "POST"), "/api/multicloud-vio/v0/{vimid}/{tenantid}/ports"),
    ("ports_vio_v1", ("GET", "POST"), "/api/multicloud-vio/v1/{owner}/{region}/{tenantid}/ports"),
    ("port", ("GET", "DELETE"), "/api/multicloud/v0/{vimid}/{tenantid}/ports/{portid}"),
    ("port_v1", ("GET", "DELETE"), "/api/multicloud/v1/{owner}/{region}/{tenantid}/ports/{portid}"),
    ("port_vio", ("GET", "DELETE"), "/api/multicloud-vio/v0/{vimid}/{tenantid}/ports/{portid}"),
    (
        "port_vio_v1",
        ("GET", "DELETE"),
        "/api/multicloud-vio/v1/{owner}/{region}/{tenantid}/ports/{portid}",
    ),
    ("volumes", ("GET", "POST"), "/api/multicloud/v0/{vimid}/{tenantid}/volumes"),
    ("volumes_v1", ("GET", "POST"), "/api/multicloud/v1/{owner}/{region}/{tenantid}/volumes"),
    ("volumes_vio", ("GET", "POST"), "/api/multicloud-vio/v0/{vimid}/{tenantid}/volumes"),
    (
        "volumes_vio_v1",
        ("GET", "POST"),
        "/api/multicloud-vio/v1/{owner}/{region}/{tenantid}/volumes",
    ),
    ("volume", ("GET", "DELETE"), "/api/multicloud/v0/{vimid}/{tenantid}/volumes/{volumeid}"),
    (
        "volume_v1",
        ("GET", "DELETE"),
        "/api/multicloud/v1/{owner}/{region}/{tenantid}/volumes/{volumeid}",
    ),
    (
        "volume_vio",
        ("GET", "DELETE"),
        "/api/multicloud-vio/v0/{vimid}/{tenantid}/volumes/{volumeid}",
    ),
    (
        "volume_vio_v1",
        ("GET", "DELETE"),
        "/api/multicloud-vio/v1/{owner}/{region}/{tenantid}/volumes/{volumeid}",
    ),
    ("hosts", ("GET",), "/api/multicloud/v0/{vimid}/{tenantid}/hosts"),
    ("hosts_v1", ("GET",), "/api/multicloud/v1/{owner}/{region}/{tenantid}/hosts"),
    ("hosts_vio", ("GET",), "/api/multicloud-vio/v0/{vimid}/{tenantid}/hosts"),
    ("hosts_vio_v1", ("GET",), "/api/multicloud-vio/v1/{owner}/{region}/{tenantid}/hosts"),
    ("host", ("GET",), "/api/multicloud/v0/{vimid}/{tenantid}/hosts/{hostname}"),
    ("host_v1", ("GET",), "/api/multicloud/v1/{owner}/{region}/{tenantid}/hosts/{hostname}"),
    ("host_vio", ("GET",), "/api/multicloud-vio/v0/{vimid}/{tenantid}/hosts/{hostname}"),
    (
        "host_vio_v1",
        ("GET",),
        "/api/multicloud-vio/v1/{owner}/{region}/{tenantid}/hosts/{hostname}",
    ),
    ("limits", ("GET",), "/api/multicloud/v0/{vimid}/{tenantid}/limits"),
    ("limits_v1", ("GET",), "/api/multicloud/v1/{owner}/{region}/{tenantid}/limits"),
    ("limits_vio", ("GET",), "/api/multicloud-vio/v0/{vimid}/{tenantid}/limits"),
    ("limits_vio_v1", ("GET",), "/api/multicloud-vio/v1/{owner}/{region}/{tenantid}/limits"),
    ("extensions", ("GET",), "/api/multicloud/v0/{vimid}/extensions"),
    ("extensions_v1", ("GET",), "/api/multicloud/v1/{owner}/{region}/extensions"),
    ("extensions_vio", ("GET",), "/api/multicloud-vio/v0/{vimid}/extensions"),
    ("extensions_vio_v1", ("GET",), "/api/multicloud-vio/v1/{owner}/{region}/extensions"),
    ("region", ("DELETE",), "/api/multicloud/v0/{vimid}"),
    ("region_v1", ("DELETE",), "/api/multicloud/v1/{owner}/{region}"),
    ("region_vio", ("DELETE",), "/api/multicloud-vio/v0/{vimid}"),
    ("region_vio_v1", ("DELETE",), "/api/multicloud-vio/v1/{owner}/{region}"),
    ("event_subscriptions", GPD, "/api/multicloud/v0/{vimid}/event_subscriptions"),
    ("event_subscriptions_v1", GPD, f"{MCV1}/event_subscriptions"),
    ("event_subscriptions_vio", GPD, "/api/multicloud-vio/v0/{vimid}/event_subscriptions"),
    ("event_subscriptions_vio_v1", GPD, f"{VIOV1}/event_subscriptions"),
    ("events", ("GET",), "/api/multicloud/v0/{vimid}/events"),
    ("events_v1", ("GET",), "/api/multicloud/v1/{owner}/{region}/events"),
    ("events_vio", ("GET",), "/api/multicloud-vio/v0/{vimid}/events"),
    ("events_vio_v1", ("GET",), "/api/multicloud-vio/v1/{owner}/{region}/events"),
    ("check_vim_status", ("POST",), "/api/multicloud/v0/{vimid}/check_vim_status"),
    ("check_vim_status_v1", ("POST",), "/api/multicloud/v1/{owner}/{region}/check_vim_status"),
    ("check_vim_status_vio", ("POST",), "/api/multicloud-vio/v0/{vimid}/check_vim_status"),
    ("check_vim_status_vio_v1", ("POST",), f"{VIOV1}/check_vim_status"),
    ("proxy_service", ALL, "/api/multicloud/v0/{vimid}/{service}"),
    ("proxy_service_v1", ALL, "/api/multicloud/v1/{owner}/{region}/{service}"),
    ("proxy_service_vio", ALL, "/api/multicloud-vio/v0/{vimid}/{service}"),
    ("proxy_service_vio_v1", ALL, "/api/multicloud-vio/v1/{owner}/{region}/{service}"),
    ("proxy_service_rest", ALL, "/api/multicloud/v0/{vimid}/{service}/{rest}"),
    ("proxy_service_rest_v1", ALL, "/api/multicloud/v1/{owner}/{region}/{service}/{rest}"),
    ("proxy_service_rest_vio", ALL, "/api/multicloud-vio/v0/{vimid}/{service}/{rest}"),
    ("proxy_service_rest_vio_v1", ALL, "/api/multicloud-vio/v1/{owner}/{region}/{service}/{rest}"),
    ("forward", ALL, "/api/multicloud/v0/{vimid}/{rest}"),
    ("forward_v1", ALL, "/api/multicloud/v1/{owner}/{region}/{rest}"),
    ("forward_vio", ALL, "/api/multicloud-vio/v0/{vimid}/{rest}"),
    ("forward_vio_v1", ALL, "/api/multicloud-vio/v1/{owner}/{region}/{rest}"),
]


def test_the_route_table_is_exactly_the_pinned_one():
    assert [(r.name, r.methods, r.pattern) for r in ROUTES] == PINNED


_PROXY = "multicloud.proxy.handlers.proxy_"
_IMAGES = "multicloud.images.handlers."
_EVENTS = "multicloud.events.handlers."

#: The handler of every route, by the name its four forms share (``_vio``/``_v1`` dropped):
#: one function, or one per method.
_TYPED = "multicloud.resources.handlers."
PINNED_HANDLERS = {
    "swagger": "multicloud.api.routes.swagger_json",
    "vio_swagger": "multicloud.api.routes.swagger_json",
    "vim_types": "multicloud.broker.handlers.vim_types",
    "healthcheck": "multicloud.health.handlers.healthcheck",
    "check_vim_capacity": "multicloud.capacity.handlers.check_vim_capacity",
    "metrics": "multicloud.ops.handlers.metrics_text",
    "docs": "multicloud.ops.handlers.docs",
    "docs_asset": "multicloud.ops.handlers.docs_asset",
    "registry": {
        "GET": "multicloud.vims.handlers.registry_status",
        "POST": "multicloud.vims.handlers.register",
    },
    "tenants": "multicloud.vims.handlers.list_tenants",
    "capacity_check": "multicloud.capacity.handlers.capacity_check",
    "infra_workload": {
        "GET": "multicloud.workload.handlers.lookup",
        "POST": "multicloud.workload.handlers.create",
    },
    "infra_workload_item": {
        "GET": "multicloud.workload.handlers.get",
        "POST": "multicloud.workload.handlers.heatbridge",
        "DELETE": "multicloud.workload.handlers.delete",
    },
    "proxy_token": {
        "GET": "multicloud.proxy.handlers.token",
        "POST": "multicloud.proxy.handlers.issue_token",
        "DELETE": "multicloud.proxy.handlers.token",
    },
    **{
        f"proxy_{service}{rest}": f"{_PROXY}{service}"
        for service in (
            "identity",
            "nova",
            "glance",
            "neutron",
            "cinder",
            "cinderv2",
            "cinderv3",
            "heat",
            "designate",
        )
        for rest in ("", "_rest")
    },
    "image_upload": f"{_IMAGES}upload",
    "image_file": {"GET": f"{_IMAGES}download", "POST": f"{_IMAGES}export"},
    "images": {"GET": f"{_IMAGES}list_images", "POST": f"{_IMAGES}create_from_url"},
    "image": {"GET": f"{_IMAGES}get_image", "DELETE": f"{_IMAGES}delete_image"},
    **{
        plural: {"GET": f"{_TYPED}list_{plural}", "POST": f"{_TYPED}create_{kind}"}
        for kind in ("flavor", "server", "network", "subnet", "port", "volume")
        for plural in (f"{kind}s",)
    },
    **{
        kind: {"GET": f"{_TYPED}get_{kind}", "DELETE": f"{_TYPED}delete_{kind}"}
        for kind in ("flavor", "server", "network", "subnet", "port", "volume")
    },
    "server_action": f"{_TYPED}server_action",
    "hosts": f"{_TYPED}list_hosts",
    "host": f"{_TYPED}get_host",
    "limits": f"{_TYPED}limits",
    "extensions": f"{_TYPED}extensions",
    "region": "multicloud.vims.handlers.unregister",
    "event_subscriptions": {
        "GET": f"{_EVENTS}list_subscriptions",
        "POST": f"{_EVENTS}subscribe",
        "DELETE": f"{_EVENTS}unsubscribe",
    },
    "events": f"{_EVENTS}list_events",
    "check_vim_status": "multicloud.status.handlers.check_vim_status",
    "proxy_service": "multicloud.proxy.handlers.generic",
    "proxy_service_rest": "multicloud.proxy.handlers.generic",
    "forward": "multicloud.broker.dispatch.not_here",
}


def _handler_name(handler) -> str:
    handler = getattr(handler, "__wrapped__", handler)  # the broker's per-region dispatch
    return f"{handler.__module__}.{handler.__name__}"


def _handlers_of(route):
    if not isinstance(route.handler, Mapping):
        return _handler_name(route.handler)
    return {m: _handler_name(route.handler_for(m)) for m in route.methods if m != "HEAD"}


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.name)
def test_every_route_has_its_pinned_handler(route):
    assert _handlers_of(route) == PINNED_HANDLERS[re.sub(r"(_vio)?(_v[01])?$", "", route.name)]


def test_every_pinned_handler_has_its_routes():
    names = {re.sub(r"(_vio)?(_v[01])?$", "", route.name) for route in ROUTES}
    assert names == set(PINNED_HANDLERS)


def test_route_names_are_unique():
    names = [r.name for r in ROUTES]
    assert len(names) == len(set(names))


def test_every_route_has_a_summary_for_the_swagger_document():
    assert all(r.summary for r in ROUTES)


def test_get_routes_also_answer_head():
    route, _ = ROUTER.match("HEAD", "/api/multicloud/v0/vim_types")
    assert route.name == "vim_types_v0"


def test_an_unlisted_method_is_refused_with_the_allowed_ones():
    with pytest.raises(MethodNotAllowed) as caught:
        ROUTER.match("PUT", "/api/multicloud/v1/vim_types")
    assert caught.value.headers() == [("Allow", "GET, HEAD")]


def test_an_unknown_path_is_not_found():
    with pytest.raises(NotFound):
        ROUTER.match("GET", "/api/elsewhere/v0/no/such/thing")


def test_a_trailing_slash_reaches_the_same_route():
    route, _ = ROUTER.match("GET", "/api/multicloud/v0/vim_types/")
    assert route.name == "vim_types_v0"


def test_each_api_has_its_swagger_route_and_no_other_swagger_route_exists():
    swagger = [r for r in ROUTES if r.pattern.endswith("/swagger.json")]
    served = {(r.namespace, r.version): r.pattern for r in swagger}
    assert served == {api: swagger_url(*api) for api in APIS}
