"""ONAP request ids reach the sandbox's OpenStack services, and the calls are counted.

Nova writes the global request id we send (``X-OpenStack-Request-ID: req-<our id>``)
into every log line of the call, so its log shows the request arrived with our id.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.proxy_helpers import register, token
from tests.metrics_text import value

pytestmark = [pytest.mark.sandbox, pytest.mark.django_db(transaction=True)]

BASE = "/api/multicloud/v1/osbox/RegionOne"
UPSTREAM = "multicloud_upstream_requests_total"


def nova_log_has(sandbox, request_id: str, timeout: float = 10.0) -> bool:
    log = Path(sandbox.state) / "log" / "nova-api.log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if f"req-{request_id}" in log.read_text(errors="replace"):
            return True
        time.sleep(0.2)
    return False


def metrics(api) -> str:
    return api.request("GET", "/metrics").body.decode()


def test_a_call_through_the_client_seam_carries_our_id_to_nova(api, sandbox):
    register(api, sandbox, BASE)
    before = metrics(api)
    ours = str(uuid.uuid4())
    body = json.dumps({"vCPU": 1, "Memory": 0.5, "Storage": 1}).encode()
    answer = api.request("POST", f"{BASE}/capacity_check", body, headers={"X-ONAP-RequestID": ours})
    assert answer.status == 200 and answer.headers["x-onap-requestid"] == ours
    assert nova_log_has(sandbox, ours)
    after = metrics(api)
    moved = value(after, UPSTREAM, service="nova", outcome="2xx") - value(
        before, UPSTREAM, service="nova", outcome="2xx"
    )
    assert moved >= 2  # quota and hypervisors at least


def test_a_proxied_call_carries_our_id_to_nova(api, sandbox):
    register(api, sandbox, BASE)
    subject, _ = token(api, BASE, sandbox.admin)
    before = metrics(api)
    ours = str(uuid.uuid4())
    answer = api.request(
        "GET",
        f"{BASE}/nova/v2.1/flavors",
        headers={"X-Auth-Token": subject, "X-ONAP-RequestID": ours},
    )
    assert answer.status == 200, answer.body
    assert nova_log_has(sandbox, ours)
    after = metrics(api)
    assert (
        value(after, UPSTREAM, service="nova", outcome="2xx")
        - value(before, UPSTREAM, service="nova", outcome="2xx")
        == 1
    )
    seconds = "multicloud_upstream_request_duration_seconds_count"
    assert value(after, seconds, service="nova") > value(before, seconds, service="nova")
