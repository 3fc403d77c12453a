"""infra_workload without a cloud: bodies refused before Heat is called, in both frameworks.

Every error carries SO's envelope (``workload_status`` *_FAILED and the reason).
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.django_db

PREFIXES = (
    "/api/multicloud/v0/onap_R1",
    "/api/multicloud/v1/onap/R1",
    "/api/multicloud-vio/v0/onap_R1",
    "/api/multicloud-vio/v1/onap/R1",
)
V1 = PREFIXES[1]
TEMPLATE = "heat_template_version: 2018-08-31\nresources: {}\n"


@pytest.fixture
def region(db, stored_region):
    """A registered region whose cloud cannot be reached (nothing here may call it)."""
    return stored_region()


def post(api, path, body):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return api.request("POST", path, raw)


def failed(answer, status: int, workload_status: str, workload_id: str = "") -> str:
    """The reason of an error answer, after checking its envelope."""
    assert answer.status == status, answer.body
    body = answer.json()
    assert body["code"] == status and body["template_type"] == "HEAT"
    assert body["workload_status"] == workload_status
    assert body["workload_id"] == workload_id
    assert body["workload_status_reason"] == body["error"]
    return body["error"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (
            {"template_type": "tosca", "template_data": {"template": TEMPLATE}},
            "template_type",
            "tosca",
        ),
        ({"template_type": "heat"}, "template_data", "JSON object"),
        ({"template_data": {"stack_name": "s"}}, "template_data.template", "no template"),
        ({"template_data": {"template": TEMPLATE}}, "template_data.stack_name", "vf-module-id"),
        (
            {"template_data": {"stack_name": "a", "stackName": "b", "template": TEMPLATE}},
            "template_data.stack_name",
            "both",
        ),
        (
            {"template_data": {"stackName": "s", "template": TEMPLATE, "timeoutMinutes": 0}},
            "template_data.timeout_mins",
            "minutes",
        ),
        (
            {
                "template_data": {"stack_name": "s", "template": TEMPLATE},
                "sdnc_directives": {"attributes": [{"attribute_value": "x"}]},
            },
            "sdnc_directives.attributes.0.attribute_name",
            "attribute_name",
        ),
        (
            {"template_data": {"stack_name": "s", "template": TEMPLATE}, "user_directives": "{"},
            "user_directives",
            "JSON",
        ),
    ],
)
def test_a_bad_create_body_is_400_create_failed_naming_the_field(api, region, body, field, words):
    answer = post(api, f"{V1}/infra_workload", body)
    assert words in failed(answer, 400, "CREATE_FAILED")
    assert answer.json()["field"] == field


def test_a_body_that_is_not_json_is_400_create_failed(api, region):
    assert "JSON" in failed(post(api, f"{V1}/infra_workload", b"{nope"), 400, "CREATE_FAILED")
    listed = post(api, f"{V1}/infra_workload", [1])
    assert "object" in failed(listed, 400, "CREATE_FAILED")


@pytest.mark.parametrize("prefix", PREFIXES)
def test_heatbridge_without_aai_is_409_update_failed(api, region, prefix):
    answer = post(api, f"{prefix}/infra_workload/stack-1", {"generic-vnf-id": "v"})
    assert "MULTICLOUD_REGISTRY=local" in failed(answer, 409, "UPDATE_FAILED", "stack-1")


def test_a_lookup_needs_a_name_or_an_id(api, region):
    answer = api.request("GET", f"{V1}/infra_workload")
    assert "?name=" in failed(answer, 400, "GET_FAILED")


@pytest.mark.parametrize(
    ("method", "suffix", "workload_status"),
    [
        ("POST", "/infra_workload", "CREATE_FAILED"),
        ("GET", "/infra_workload?name=x", "GET_FAILED"),
        ("GET", "/infra_workload/s1", "GET_FAILED"),
        ("POST", "/infra_workload/s1", "UPDATE_FAILED"),
        ("DELETE", "/infra_workload/s1", "DELETE_FAILED"),
    ],
)
def test_every_route_is_404_for_an_unknown_region(api, method, suffix, workload_status):
    body = (
        json.dumps({"template_data": {"template": TEMPLATE}}).encode() if method == "POST" else b""
    )
    for prefix in ("/api/multicloud/v1/nobody/nowhere", "/api/multicloud-vio/v0/nobody_nowhere"):
        answer = api.request(method, f"{prefix}{suffix}", body)
        workload_id = "s1" if suffix.endswith("/s1") else ""
        assert "nobody" in failed(answer, 404, workload_status, workload_id)


def test_put_on_a_workload_is_405_with_allow(api, region):
    answer = api.request("PUT", f"{V1}/infra_workload/s1", b"{}")
    assert answer.status == 405 and answer.headers["allow"] == "GET, POST, DELETE, HEAD"


@pytest.mark.parametrize("base", ["/api/multicloud/v1/", "/api/multicloud-vio/v0/"])
def test_the_swagger_documents_describe_infra_workload(api, base):
    paths = api.request("GET", f"{base}swagger.json").json()["paths"]
    region = "/{vimid}" if base.endswith("v0/") else "/{owner}/{region}"
    collection = paths[f"{region}/infra_workload"]
    item = paths[f"{region}/infra_workload/{{workloadid}}"]
    assert "201" in collection["post"]["responses"]
    body = next(p for p in collection["post"]["parameters"] if p["in"] == "body")
    assert "template_data" in body["schema"]["properties"]
    assert {p["name"] for p in collection["get"]["parameters"]} >= {"name", "id"}
    assert "202" in item["post"]["responses"] and "204" in item["delete"]["responses"]
    assert (
        "stack"
        in item["get"]["responses"]["200"]["schema"]["properties"]["workload_status_reason"][
            "properties"
        ]
    )
