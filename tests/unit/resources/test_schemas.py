"""Request validation: 400 naming the first wrong field."""

from __future__ import annotations

import pytest

from multicloud.exceptions import BadRequest
from multicloud.resources import schemas, service


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"vcpu": 1, "memory": 1}, "name"),
        ({"name": "f", "vcpu": "2", "memory": 1}, "vcpu"),
        (
            {"name": "f", "vcpu": 1, "memory": 1, "extraSpecs": [{"value": "v"}]},
            "extraSpecs.0.keyName",
        ),
    ],
)
def test_a_wrong_flavor_field_is_named(body, field):
    with pytest.raises(BadRequest) as raised:
        schemas.validate(body, schemas.FLAVOR_REQUEST)
    assert raised.value.extra["field"] == field and field in raised.value.message


@pytest.mark.parametrize(
    "body", [{"os-stop": None}, {"os-start": {}}, {"reboot": {"type": "HARD"}}, {"resume": None}]
)
def test_each_server_action_is_accepted_alone(body):
    assert schemas.validate(body, schemas.SERVER_ACTION) == body


@pytest.mark.parametrize(("limit", "ok"), [("1", True), ("1000", True), ("0", False), ("x", False)])
def test_a_page_limit_is_1_to_1000(limit, ok):
    if ok:
        assert service.page(limit, None, None).params() == [("limit", limit)]
    else:
        with pytest.raises(BadRequest):
            service.page(limit, None, None)
