"""Metrics and ONAP ids of run.sh as a real process: every worker counted, in each mode."""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest
import requests

from tests.metrics_text import value
from tests.servers import ALARMS, Service

pytestmark = pytest.mark.system

# NOTE: not the path Service.wait_ready probes, whose late answers would count too.
TYPES = "/api/multicloud/v1/vim_types"
REQUESTS = "multicloud_http_requests_total"
SECONDS = "multicloud_http_request_duration_seconds_count"
#: Seconds per call: generous, the machine is shared.
TIMEOUT = 30


def scrape(svc: Service, path: str = "/metrics") -> str:
    answer = requests.get(svc.url + path, timeout=TIMEOUT)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    return answer.text


def hit(svc: Service, times: int) -> None:
    for _ in range(times):
        # NOTE: a new connection each time, so the kernel (pecan) or uWSGI spreads them.
        assert requests.get(svc.url + TYPES, timeout=TIMEOUT, headers={"Connection": "close"}).ok


def served(text: str, status: str = "200") -> float:
    return value(text, REQUESTS, route="vim_types_v1", method="GET", status=status)


def worker_files(svc: Service, tmp_path) -> set[int]:
    """Pids of the workers that wrote request counters into the metrics directory."""
    names = os.listdir(tmp_path / "data" / "metrics")
    return {int(n.split("_")[1].split(".")[0]) for n in names if n.startswith("counter_")}


@pytest.mark.parametrize("mode", ["django", "pecan"])
def test_every_worker_is_counted_once_and_a_replacement_loses_nothing(service, mode, tmp_path):
    svc = service(WEB_FRAMEWORK=mode)
    quiet_start(svc, mode)
    assert served(scrape(svc)) == 0
    hit(svc, 60)
    text = scrape(svc, "/api/multicloud/v0/metrics")
    assert served(text) == 60
    assert value(text, SECONDS, route="vim_types_v1", method="GET") == 60
    # Both workers answered some of them, and both are in the sum.
    assert svc.workers() <= worker_files(svc, tmp_path)
    assert len(worker_files(svc, tmp_path)) >= 2
    assert value(text, REQUESTS, route="unmatched", method="GET", status="404") == 0
    requests.get(svc.url + "/api/multicloud/v0/vim_typo", timeout=TIMEOUT)
    assert value(scrape(svc), REQUESTS, route="unmatched", method="GET", status="404") == 1
    onap_ids(svc)  # three more answers of the counted route

    victim = min(svc.workers())
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (len(svc.workers()) != 2 or victim in svc.workers()):
        time.sleep(0.2)
    assert victim not in svc.workers()
    hit(svc, 10)
    assert served(scrape(svc)) == 73
    # NOTE: the SIGKILL above may rightly log uWSGI's deadlock detector; stopping must not.
    before = len(svc.log.read_text(errors="replace"))
    assert svc.stop() == 0
    stopping = svc.log.read_text(errors="replace")[before:]
    assert not any(alarm in stopping for alarm in ALARMS), stopping


def quiet_start(svc: Service, mode: str) -> None:
    lines = [line for line in svc.output().splitlines() if line.strip()]
    assert f"multicloud: {mode} mode, 2 workers" in svc.output()
    assert f"http://127.0.0.1:{svc.port}" in svc.output()
    # NOTE: at most the allow-list notice, the migrations line and the listening line.
    assert len(lines) <= 3, lines
    assert "WARNING" not in svc.output()


def onap_ids(svc: Service) -> None:
    ours = str(uuid.uuid4())
    answer = requests.get(
        svc.url + TYPES,
        headers={"X-ONAP-RequestID": ours, "X-InvocationID": "inv-7", "X-ONAP-PartnerName": "SO"},
        timeout=TIMEOUT,
    )
    assert answer.headers["X-ONAP-RequestID"] == ours
    assert answer.headers["X-TransactionID"] == ours
    assert answer.headers["X-InvocationID"] == "inv-7"
    assert answer.headers["X-ONAP-PartnerName"] == "SO"
    fresh = requests.get(svc.url + TYPES, timeout=TIMEOUT).headers
    assert uuid.UUID(fresh["X-ONAP-RequestID"]) and fresh["X-ONAP-RequestID"] != ours
    legacy = requests.get(svc.url + TYPES, headers={"X-TransactionID": "t-1"}, timeout=TIMEOUT)
    assert legacy.headers["X-ONAP-RequestID"] == "t-1"
    assert legacy.headers["X-TransactionID"] == "t-1"


def test_an_earlier_run_does_not_count(service, tmp_path):
    first = service(WEB_FRAMEWORK="pecan")
    hit(first, 5)
    assert served(scrape(first)) == 5
    assert first.stop() == 0
    second = service(WEB_FRAMEWORK="django")
    assert served(scrape(second)) == 0
