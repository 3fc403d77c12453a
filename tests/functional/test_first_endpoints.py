"""vim_types, swagger.json, healthcheck and the error model, in both frameworks."""

import pytest
from django.db import DatabaseError, OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper

from multicloud.api.routes import ROUTES

VIM_TYPES = [
    {"vim_type": "openstack", "versions": ["titanium_cloud", "ocata", "pike", "starlingx"]},
    {"vim_type": "vmware", "versions": ["4.0"]},
]


@pytest.mark.parametrize("version", ["v0", "v1"])
def test_vim_types_lists_openstack_and_vmware(api, version):
    answer = api.request("GET", f"/api/multicloud/{version}/vim_types")
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == VIM_TYPES
    assert int(answer.headers["content-length"]) == len(answer.body)


def test_head_answers_the_headers_of_get_without_a_body(api):
    get = api.request("GET", "/api/multicloud/v0/vim_types")
    head = api.request("HEAD", "/api/multicloud/v0/vim_types")
    assert head.status == 200
    assert head.body == b""
    assert head.headers["content-length"] == get.headers["content-length"]


@pytest.mark.parametrize(
    "base",
    [
        "/api/multicloud/v0/",
        "/api/multicloud-vio/v0/",
        "/api/multicloud/v1/",
        "/api/multicloud-vio/v1/",
    ],
)
def test_swagger_json_is_a_swagger_2_document_of_its_namespace(api, base):
    answer = api.request("GET", f"{base}swagger.json")
    assert answer.status == 200
    document = answer.json()
    assert document["swagger"] == "2.0"
    assert document["basePath"] == base.rstrip("/")
    expected = {"/" + r.pattern[len(base) :] for r in ROUTES if r.pattern.startswith(base)}
    assert set(document["paths"]) == expected
    # basePath + path is the route itself: no "//" for clients that join them.
    patterns = {r.pattern for r in ROUTES}
    assert {document["basePath"] + path for path in document["paths"]} <= patterns


def test_swagger_operations_name_their_path_parameters(api):
    document = api.request("GET", "/api/multicloud/v0/swagger.json").json()
    for path, operations in document["paths"].items():
        for operation in operations.values():
            declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert declared == {part[1:-1] for part in path.split("/") if part.startswith("{")}


@pytest.mark.django_db
@pytest.mark.parametrize("version", ["v0", "v1"])
def test_healthcheck_says_the_database_is_reachable(api, version):
    answer = api.request("GET", f"/api/multicloud/{version}/healthcheck")
    assert answer.status == 200
    assert answer.json()["status"] == "ok"
    assert answer.json()["database"]["reachable"] is True


class _BrokenConnection:
    vendor = "postgresql"

    def cursor(self):
        raise DatabaseError("connection refused")


def test_healthcheck_is_503_when_the_database_is_down(api, monkeypatch):
    monkeypatch.setattr("multicloud.health.service.connection", _BrokenConnection())
    answer = api.request("GET", "/api/multicloud/v0/healthcheck")
    assert answer.status == 503
    assert answer.json() == {
        "error": "database unreachable",
        "code": 503,
        "status": "unavailable",
        "database": {"reachable": False, "vendor": "postgresql"},
    }


def _refuse_connections(self):
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: refused')


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/multicloud/v0/owner_region/registry"),
        ("GET", "/api/multicloud/v1/owner/region/event_subscriptions"),
        ("DELETE", "/api/multicloud-vio/v0/owner_region"),
    ],
)
def test_a_database_that_refuses_connections_answers_503_json_not_500(
    api, monkeypatch, method, path
):
    monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", _refuse_connections)
    answer = api.request(method, path)
    assert answer.status == 503
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"error": "the database is unavailable; try again later", "code": 503}


@pytest.mark.parametrize(
    "path",
    [
        "/api/multicloud/v0/nothing/here",
        "/",
        "/api/multicloud/v2/vim_types",
        "/api/multicloud/v0/vim_typo",
        "/api/multicloud/v0/vimtypo",
        "/api/multicloud-vio/v0/vim_typo",
        "/api/multicloud/v1/vim_types/typo",
    ],
)
def test_an_unknown_path_is_a_json_404(api, path):
    answer = api.request("GET", path)
    assert answer.status == 404
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"error": f"no such resource: {path}", "code": 404}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/multicloud/v0/vimtypo/tenants"),
        ("PATCH", "/api/multicloud/v0/vimtypo/registry"),
        ("PUT", "/api/multicloud-vio/v0/vimtypo/t/flavors"),
    ],
)
def test_an_unserved_method_below_a_vimid_that_names_no_region_is_a_json_404(api, method, path):
    answer = api.request(method, path, body=b"{}")
    assert answer.status == 404
    assert answer.json() == {"error": f"no such resource: {path}", "code": 404}


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_an_unknown_method_is_a_json_405_with_allow(api, method):
    answer = api.request(method, "/api/multicloud/v1/vim_types", body=b"{}")
    assert answer.status == 405
    assert answer.headers["allow"] == "GET, HEAD"
    assert answer.json() == {
        "error": f"method {method} is not allowed here",
        "code": 405,
        "allowed": ["GET", "HEAD"],
    }
