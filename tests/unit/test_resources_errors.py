"""How a cloud's HTTP errors become ours (multicloud/openstack/client.py call/cloud_error)."""

from __future__ import annotations

import json

import pytest
import requests

from multicloud.exceptions import (
    BadRequest,
    Conflict,
    Forbidden,
    GatewayTimeout,
    NotFound,
    ServiceUnavailable,
    UpstreamError,
)
from multicloud.openstack import client


def reply(status: int, body) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer.headers["Content-Type"] = "application/json"
    return answer


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"conflictingRequest": {"message": "Cannot 'stop' instance", "code": 409}}, "Cannot"),
        ({"NeutronError": {"type": "NetworkInUse", "message": "in use", "detail": ""}}, "in use"),
        ({"error": {"code": 404, "title": "Not Found", "message": "no such"}}, "no such"),
        ({"errors": [{"title": "Conflict", "detail": "placement says"}]}, "placement says"),
        (b"plain text failure", "plain text failure"),
    ],
)
def test_the_clouds_own_message_is_kept(body, message):
    assert client._cloud_message(reply(409, body)).startswith(message)


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (400, "bad", BadRequest),
        (403, "Quota exceeded for cores", Conflict),
        (413, "OverLimit", Conflict),
        (403, "Policy does not allow", Forbidden),
        (404, "gone", NotFound),
        (409, "in use", Conflict),
        (422, "odd", BadRequest),
        (500, "boom", UpstreamError),
        (503, "down", ServiceUnavailable),
        (504, "slow", GatewayTimeout),
    ],
)
def test_each_status_maps_to_one_error(status, message, error):
    found = client.cloud_error(status, message, "the compute service of a_b")
    assert type(found) is error and message in found.message
    assert found.extra["upstream_status"] == status


def test_refused_registered_credentials_are_502_without_the_clouds_text():
    found = client.cloud_error(401, "The request you have made requires authentication.", "x")
    assert found.code == 502 and "registered credentials" in found.message
