"""``MULTICLOUD_REGISTRY=aai`` without a cloud: what A&AI alone decides (both frameworks)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from multicloud.vims.models import CloudRegion
from tests.doubles.aai_fixtures import AUTH, HEADERS, cloud_region_path

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

FORMS = (
    "/api/multicloud/v0/osbox_RegionX",
    "/api/multicloud/v1/osbox/RegionX",
    "/api/multicloud-vio/v0/osbox_RegionX",
    "/api/multicloud-vio/v1/osbox/RegionX",
)


def wait_job_ended(timeout: float = 20) -> None:
    """Wait on the job's database record (polling the API would differ between runs)."""
    deadline = time.monotonic() + timeout
    while CloudRegion.objects.get().discovery_status not in ("done", "failed"):
        assert time.monotonic() < deadline, "the registration job did not end"
        time.sleep(0.1)


@pytest.mark.parametrize("base", FORMS)
def test_a_region_aai_does_not_hold_is_404_at_once_and_nothing_is_stored(api, aai_mode, base):
    answer = api.request("POST", f"{base}/registry", b"")
    assert answer.status == 404
    assert answer.json() == {"error": "cloud region osbox_RegionX is not in A&AI", "code": 404}
    assert not CloudRegion.objects.exists()
    assert not aai_mode.requests("PUT")


@pytest.mark.parametrize("base", FORMS)
def test_a_region_aai_holds_is_202_on_every_form_and_its_job_is_read_back(api, aai_mode, base):
    aai_mode.seed(cloud_region_path("osbox", "RegionX"), {"cloud-type": "openstack"})
    answer = api.request("POST", f"{base}/registry", b"")
    assert answer.status == 202
    assert answer.headers["location"] == f"{base}/registry"
    assert answer.json()["registry"]["status"] == "pending"
    wait_job_ended()
    state = api.request("GET", f"{base}/registry").json()
    assert state["vimId"] == "osbox_RegionX" and state["registry"]["status"] == "failed"
    assert not aai_mode.requests("PUT")  # no esr-system-info: nothing written


def test_a_non_object_body_is_400(api, aai_mode):
    answer = api.request("POST", f"{FORMS[1]}/registry", b"[1]")
    assert answer.status == 400 and "empty or a JSON object" in answer.json()["error"]


def test_a_cloud_type_this_service_does_not_serve_is_400(api, aai_mode):
    aai_mode.seed(cloud_region_path("osbox", "RegionX"), {"cloud-type": "azure"})
    answer = api.request("POST", f"{FORMS[0]}/registry", b"")
    assert answer.status == 400 and "azure" in answer.json()["error"]
    assert not CloudRegion.objects.exists()


def test_aai_down_is_a_503_with_json_not_a_500(api, aai_mode):
    aai_mode.down()
    answer = api.request("POST", f"{FORMS[0]}/registry", b"")
    assert answer.status == 503 and "cannot reach A&AI" in answer.json()["error"]
    tenants = api.request("GET", f"{FORMS[1]}/tenants")
    assert tenants.status == 503 and tenants.json()["code"] == 503
    assert not CloudRegion.objects.exists()


def test_the_broker_answers_404_for_a_vimid_aai_does_not_know(api, aai_mode):
    answer = api.request("GET", f"{FORMS[2]}/tenants")
    assert answer.status == 404
    assert answer.json()["error"] == "cloud region osbox_RegionX is not in A&AI"


def test_the_broker_caches_what_aai_says(api, aai_mode):
    aai_mode.seed(cloud_region_path("osbox", "RegionX"), {"cloud-type": "openstack"})
    for _ in range(5):
        answer = api.request("GET", f"{FORMS[0]}/tenants")
        assert answer.status == 404  # known to A&AI, not registered here
        assert answer.json()["error"] == "cloud region osbox_RegionX is not registered"
    assert len(aai_mode.requests("GET")) == 1


def test_a_slow_aai_is_bounded_by_the_cloud_timeout(api, use_aai, fake_aai):
    use_aai(fake_aai, MULTICLOUD_CLOUD_TIMEOUT="1")
    fake_aai.slow(5)
    started = time.monotonic()
    answer = api.request("GET", f"{FORMS[0]}/tenants")
    elapsed = time.monotonic() - started
    fake_aai.slow(0)
    assert answer.status == 503 and "in time" in answer.json()["error"]
    assert elapsed < 3


def test_credentials_in_the_body_are_ignored(api, aai_mode):
    path = cloud_region_path("osbox", "RegionX")
    aai_mode.seed(path, {"cloud-type": "openstack", "cloud-region-version": "pike"})
    body = {
        "defaultTenant": "demo",
        "esr-system-info-list": {"esr-system-info": [{"password": "posted-secret"}]},
    }
    answer = api.request("POST", f"{FORMS[1]}/registry", json.dumps(body).encode())
    assert answer.status == 202
    assert answer.json()["vimId"] == "osbox_RegionX"
    record = CloudRegion.objects.get()
    assert record.password != "posted-secret"
    assert record.aai.default_tenant == "demo"
    wait_job_ended()
    state = api.request("GET", f"{FORMS[1]}/registry").json()
    # NOTE: A&AI holds no esr-system-info for this region: the job says so.
    assert state["registry"]["status"] == "failed"
    assert "no esr-system-info" in state["registry"]["error"]
    assert "posted-secret" not in json.dumps(state)


class _Plugin(BaseHTTPRequestHandler):
    """An external plugin that answers every GET with the path it was sent."""

    def do_GET(self):  # noqa: N802
        data = json.dumps({"plugin-saw": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        """Quiet."""


@pytest.fixture
def plugin():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Plugin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/multicloud-azure"
    server.shutdown()
    server.server_close()


def test_the_cloud_type_aai_holds_picks_the_external_plugin(api, use_aai, fake_aai, plugin):
    plugins = json.dumps([{"cloud_type": "azure", "url": plugin}])
    use_aai(fake_aai, MULTICLOUD_PLUGINS=plugins)
    fake_aai.seed(cloud_region_path("osbox", "RegionX"), {"cloud-type": "azure"})
    answer = api.request("GET", f"{FORMS[1]}/tenants")
    assert answer.status == 200
    assert answer.json() == {"plugin-saw": "/api/multicloud-azure/v1/osbox/RegionX/tenants"}
    fake_aai.seed(cloud_region_path("osbox", "RegionY"), {"cloud-type": "openstack"})
    local = api.request("GET", "/api/multicloud/v1/osbox/RegionY/tenants")
    assert local.status == 404 and "not registered" in local.json()["error"]  # in-process


def test_unregistering_while_aai_is_down_is_503_and_keeps_the_region(api, aai_mode):
    aai_mode.seed(cloud_region_path("osbox", "RegionX"), {"cloud-type": "openstack"})
    assert api.request("POST", f"{FORMS[0]}/registry", b"").status == 202
    wait_job_ended()
    aai_mode.down()
    answer = api.request("DELETE", FORMS[0])
    assert answer.status == 503 and answer.json()["code"] == 503
    assert CloudRegion.objects.exists()
    aai_mode.up()
    assert api.request("DELETE", FORMS[0]).status == 204
    assert not CloudRegion.objects.exists()
    assert aai_mode.exists(cloud_region_path("osbox", "RegionX"))  # never the region itself


def test_a_region_esr_already_removed_from_aai_can_still_be_unregistered(api, aai_mode):
    path = cloud_region_path("osbox", "RegionX")
    aai_mode.seed(path, {"cloud-type": "openstack"})
    assert api.request("POST", f"{FORMS[1]}/registry", b"").status == 202
    wait_job_ended()
    version = aai_mode.get(path)["resource-version"]
    gone = requests.delete(
        aai_mode.base + path,
        params={"resource-version": version},
        headers=HEADERS,
        auth=AUTH,
        timeout=10,
    )
    assert gone.status_code == 204
    assert api.request("GET", f"{FORMS[1]}/tenants").status == 404  # unknown to A&AI now
    assert api.request("DELETE", FORMS[1]).status == 204
    assert not CloudRegion.objects.exists()
    assert api.request("DELETE", FORMS[1]).status == 404


def test_the_callers_onap_ids_reach_aai(api, aai_mode):
    ids = {"X-ONAP-RequestID": "req-aai-1", "X-TransactionID": "tx-aai-1"}
    api.request("GET", f"{FORMS[0]}/tenants", headers=ids)
    (seen,) = aai_mode.requests("GET")
    assert seen["headers"]["x-onap-requestid"] == "req-aai-1"
    assert seen["headers"]["x-transactionid"] == "tx-aai-1"
    assert seen["headers"]["x-onap-partnername"]
    assert seen["headers"]["x-fromappid"]
