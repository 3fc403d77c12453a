"""check_vim_capacity / capacity_check input errors (no cloud contacted)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("/api/multicloud/v0/check_vim_capacity", b"hello world", "not valid JSON"),
        ("/api/multicloud/v0/check_vim_capacity", b"[]", "JSON object"),
        ("/api/multicloud/v0/check_vim_capacity", b'{"vCPU": "x", "VIMs": []}', "integers"),
        ("/api/multicloud/v0/check_vim_capacity", b'{"vCPU": -1, "VIMs": []}', "negative"),
        ("/api/multicloud/v0/check_vim_capacity", b'{"vCPU": 1}', "VIMs must be a list"),
        ("/api/multicloud/v0/check_vim_capacity", b'{"VIMs": ["noowner"]}', "invalid vim id"),
        (
            "/api/multicloud/v1/check_vim_capacity",
            b'{"VIMs": [{"cloud-owner": "a"}]}',
            "cloud-region-id",
        ),
        ("/api/multicloud/v1/check_vim_capacity", b'{"VIMs": ["a_b"]}', "an object"),
        ("/api/multicloud/v0/a_b/capacity_check", b'{"Memory": "lots"}', "cloud region a_b"),
    ],
)
def test_bad_capacity_requests_are_400_or_404_with_the_reason(api, path, body, fragment):
    answer = api.request("POST", path, body)
    assert answer.status in (400, 404)
    assert fragment in answer.json()["error"]


def test_no_regions_listed_is_an_empty_answer(api):
    answer = api.request("POST", "/api/multicloud/v1/check_vim_capacity", b'{"VIMs": []}')
    assert answer.status == 200
    assert answer.json() == {"VIMs": []}
