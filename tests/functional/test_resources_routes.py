"""The typed API's routes without a cloud: unknown regions, the Swagger documents."""

from __future__ import annotations

import json

import pytest

from multicloud.api.routes import ROUTES
from multicloud.resources.routes import ROUTES as TYPED

PREFIXES = (
    "/api/multicloud/v0/nobody_nowhere",
    "/api/multicloud/v1/nobody/nowhere",
    "/api/multicloud-vio/v0/nobody_nowhere",
    "/api/multicloud-vio/v1/nobody/nowhere",
)
CALLS = [
    ("GET", "/t1/flavors"),
    ("POST", "/t1/flavors"),
    ("GET", "/t1/flavors/f1"),
    ("DELETE", "/t1/flavors/f1"),
    ("GET", "/t1/servers"),
    ("POST", "/t1/servers"),
    ("GET", "/t1/servers/s1"),
    ("DELETE", "/t1/servers/s1"),
    ("POST", "/t1/servers/s1/action"),
    ("GET", "/t1/networks"),
    ("POST", "/t1/networks"),
    ("GET", "/t1/networks/n1"),
    ("DELETE", "/t1/networks/n1"),
    ("GET", "/t1/subnets"),
    ("POST", "/t1/subnets"),
    ("GET", "/t1/subnets/s1"),
    ("DELETE", "/t1/subnets/s1"),
    ("GET", "/t1/ports"),
    ("POST", "/t1/ports"),
    ("GET", "/t1/ports/p1"),
    ("DELETE", "/t1/ports/p1"),
    ("GET", "/t1/volumes"),
    ("POST", "/t1/volumes"),
    ("GET", "/t1/volumes/v1"),
    ("DELETE", "/t1/volumes/v1"),
    ("GET", "/t1/hosts"),
    ("GET", "/t1/hosts/compute.example.org"),
    ("GET", "/t1/limits"),
    ("GET", "/extensions"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(("method", "suffix"), CALLS)
def test_every_typed_route_is_404_for_an_unknown_region(api, prefix, method, suffix):
    body = json.dumps({"name": "x"}).encode() if method == "POST" else b""
    answer = api.request(method, f"{prefix}{suffix}", body)
    assert answer.status == 404, answer.body
    assert answer.json()["code"] == 404
    assert "nobody" in answer.json()["error"]


def test_every_typed_route_is_served_under_all_four_prefixes():
    patterns = {route.pattern for route in ROUTES}
    for spec in TYPED:
        for prefix in ("/api/multicloud/v0/{vimid}", "/api/multicloud/v1/{owner}/{region}"):
            for namespace in (prefix, prefix.replace("multicloud", "multicloud-vio", 1)):
                assert f"{namespace}{spec[2]}" in patterns


@pytest.mark.parametrize("base", ["/api/multicloud-vio/v0/", "/api/multicloud/v1/"])
def test_the_swagger_documents_give_each_typed_route_its_schemas(api, base):
    paths = api.request("GET", f"{base}swagger.json").json()["paths"]
    region = "/{vimid}" if base.endswith("v0/") else "/{owner}/{region}"
    for spec in TYPED:
        operations = paths[f"{region}{spec[2]}"]
        for method in spec[1]:
            operation = operations[method.lower()]
            doc = spec[5][method]
            assert str(doc.status) in operation["responses"]
            if method == "POST":
                (body,) = [p for p in operation["parameters"] if p["in"] == "body"]
                assert body["schema"]["type"] == "object"
            if method == "GET":
                assert operation["responses"]["200"]["schema"]["type"] == "object"
    servers = paths[f"{region}/{{tenantid}}/servers"]
    assert servers["post"]["responses"]["202"]["schema"]["properties"]["returnCode"]
    query = {p["name"] for p in servers["get"]["parameters"] if p["in"] == "query"}
    assert query == {"limit", "marker", "name"}
