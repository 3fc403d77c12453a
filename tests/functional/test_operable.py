"""Metrics, ONAP ids, the docs page and its assets, under both frameworks in-process."""

from __future__ import annotations

import json
import logging
import uuid

import pytest

from multicloud.transaction import LogFilter
from tests.doubles.recorder import RecordingServer
from tests.metrics_text import value

TYPES = "/api/multicloud/v0/vim_types"
REQUESTS = "multicloud_http_requests_total"


def metrics(api) -> str:
    answer = api.request("GET", "/api/multicloud/v0/metrics")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return answer.body.decode()


@pytest.mark.no_parity
def test_requests_are_counted_by_route_method_and_status(api):
    before = metrics(api)
    for _ in range(3):
        assert api.request("GET", TYPES).status == 200
    api.request("POST", TYPES, body=b"{}")
    api.request("GET", "/api/multicloud/v0/vim_typo")
    after = api.request("GET", "/metrics").body.decode()

    def moved(**labels):
        return value(after, REQUESTS, **labels) - value(before, REQUESTS, **labels)

    assert moved(route="vim_types_v0", method="GET", status="200") == 3
    assert moved(route="unmatched", method="POST", status="405") == 1
    assert moved(route="unmatched", method="GET", status="404") == 1
    seconds = "multicloud_http_request_duration_seconds_count"
    assert (
        value(after, seconds, route="vim_types_v0", method="GET")
        - value(before, seconds, route="vim_types_v0", method="GET")
        == 3
    )


def test_the_onap_ids_are_answered(api):
    ours = str(uuid.uuid4())
    answer = api.request(
        "GET", TYPES, headers={"X-ONAP-RequestID": ours, "X-ONAP-PartnerName": "SO"}
    )
    assert answer.headers["x-onap-requestid"] == ours
    assert answer.headers["x-transactionid"] == ours
    assert answer.headers["x-onap-partnername"] == "SO"
    assert uuid.UUID(answer.headers["x-invocationid"])
    generated = api.request("GET", TYPES).headers
    assert uuid.UUID(generated["x-onap-requestid"])
    # An id that could forge log lines is replaced.
    forged = api.request("GET", TYPES, headers={"X-ONAP-RequestID": "a b\tc"}).headers
    assert uuid.UUID(forged["x-onap-requestid"])


@pytest.fixture
def plugin(override_settings):
    """A recording plugin double for cloud type ``rec``."""
    with RecordingServer(status=202, answer={"vimId": "rec_R1"}) as server:
        plugins = [{"cloud_type": "rec", "url": f"{server.url}/api/multicloud-rec"}]
        override_settings(MULTICLOUD_PLUGINS=json.dumps(plugins))
        yield server


@pytest.mark.no_parity
@pytest.mark.django_db
def test_a_plugin_gets_the_request_s_ids_and_is_counted(api, plugin):
    before = metrics(api)
    ours = str(uuid.uuid4())
    body = json.dumps({"cloud-type": "rec", "cloud-region-version": "1"}).encode()
    ids = {"X-ONAP-RequestID": ours, "X-InvocationID": "inv-9"}
    answer = api.request("POST", "/api/multicloud/v1/rec/R1/registry", body, headers=ids)
    assert answer.status == 202
    (sent,) = plugin.requests
    assert sent.path == "/api/multicloud-rec/v1/rec/R1/registry"
    assert sent.header("X-ONAP-RequestID") == ours
    assert sent.header("X-TransactionID") == ours
    assert sent.header("X-InvocationID") == "inv-9"
    after = metrics(api)
    label = {"service": "plugin", "outcome": "2xx"}
    upstream = "multicloud_upstream_requests_total"
    assert value(after, upstream, **label) - value(before, upstream, **label) == 1


@pytest.mark.django_db
def test_log_lines_of_a_request_carry_its_ids(api, plugin):
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.addFilter(LogFilter())
    handler.emit = records.append
    logging.getLogger().addHandler(handler)
    try:
        body = json.dumps({"cloud-type": "rec", "cloud-region-version": "1"}).encode()
        ids = {"X-ONAP-RequestID": "req-42", "X-InvocationID": "inv-42"}
        api.request("POST", "/api/multicloud/v1/rec/R2/registry", body, headers=ids)
    finally:
        logging.getLogger().removeHandler(handler)
    ours = [r for r in records if "registered with its external plugin" in r.getMessage()]
    assert ours and all(r.request_id == "req-42" for r in ours)
    assert ours[0].transaction == "[req-42 inv-42] "


def test_the_docs_page_uses_only_our_own_assets(api):
    page = api.request("GET", "/api/multicloud/v0/docs")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    html = page.body.decode()
    assert "http://" not in html and "https://" not in html
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        assert f"/api/multicloud/v0/docs/{asset}" in html
        answer = api.request("GET", f"/api/multicloud/v0/docs/{asset}")
        assert answer.status == 200 and len(answer.body) > 1000
    for url in ("/api/multicloud/v0/swagger.json", "/api/multicloud-vio/v0/swagger.json"):
        assert url in html
        assert api.request("GET", url).status == 200


@pytest.mark.parametrize("asset", ["index.html", ".hidden.js", "nothing.js", "x.py"])
def test_only_swagger_ui_assets_are_served(api, asset):
    assert api.request("GET", f"/api/multicloud/v0/docs/{asset}").status == 404


def test_a_dot_segment_below_the_docs_is_refused_as_every_dot_segment_is(api):
    answer = api.request("GET", "/api/multicloud/v0/docs/..")
    assert answer.status == 400
    assert "segments" in answer.json()["error"]
