"""check_vim_capacity / capacity_check input errors (no cloud contacted)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "body", "status", "fragment"),
    [
        ("/api/multicloud/v0/check_vim_capacity", b"hello world", 400, "not valid JSON"),
        ("/api/multicloud/v0/check_vim_capacity", b"[]", 400, "JSON object"),
        ("/api/multicloud/v0/check_vim_capacity", b'{"vCPU": "x", "VIMs": []}', 400, "integers"),
        ("/api/multicloud/v0/check_vim_capacity", b'{"vCPU": -1, "VIMs": []}', 400, "negative"),
        ("/api/multicloud/v0/check_vim_capacity", b'{"vCPU": 1}', 400, "VIMs must be a list"),
        ("/api/multicloud/v0/check_vim_capacity", b'{"VIMs": ["noowner"]}', 400, "invalid vim id"),
        (
            "/api/multicloud/v1/check_vim_capacity",
            b'{"VIMs": [{"cloud-owner": "a"}]}',
            400,
            "cloud-region-id",
        ),
        ("/api/multicloud/v1/check_vim_capacity", b'{"VIMs": ["a_b"]}', 400, "an object"),
        ("/api/multicloud/v0/a_b/capacity_check", b'{"Memory": "lots"}', 404, "cloud region a_b"),
    ],
)
def test_bad_capacity_requests_are_refused_with_the_reason(api, path, body, status, fragment):
    answer = api.request("POST", path, body)
    assert answer.status == status
    assert fragment in answer.json()["error"]
    assert answer.json()["code"] == status


def test_no_regions_listed_is_an_empty_answer(api):
    answer = api.request("POST", "/api/multicloud/v1/check_vim_capacity", b'{"VIMs": []}')
    assert answer.status == 200
    assert answer.json() == {"VIMs": []}
