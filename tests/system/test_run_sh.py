"""run.sh as a real process, in each mode, on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import threading
import time

import psycopg
import pytest
import requests

from tests.security.fakes import Tarpit
from tests.servers import ALARMS, Service

pytestmark = pytest.mark.system

PATHS = [
    "/api/multicloud/v0/vim_types",
    "/api/multicloud/v1/vim_types",
    "/api/multicloud/v0/swagger.json",
    "/api/multicloud-vio/v0/swagger.json",
    "/api/multicloud/v0/healthcheck",
    "/api/multicloud/v0/unknown",
]


def snapshot(url: str) -> list[tuple]:
    answers = []
    for path in PATHS:
        response = requests.get(url + path, timeout=5)
        answers.append(
            (path, response.status_code, response.headers["Content-Type"], response.content)
        )
    return answers


def test_both_modes_answer_the_same_bodies_and_stop_quietly_on_ctrl_c(service):
    django = service(WEB_FRAMEWORK="django")
    pecan = service(WEB_FRAMEWORK="pecan")
    assert snapshot(django.url) == snapshot(pecan.url)
    assert snapshot(django.url)[0][1] == 200
    for svc in (django, pecan):
        said = svc.interrupt()
        assert svc.proc.returncode == 0
        assert not any(alarm in said for alarm in ALARMS), said
        assert "uWSGI" not in said and "killing workers" not in said, said  # its stop chatter


@pytest.mark.parametrize("mode", ["django", "pecan"])
def test_each_mode_runs_its_workers_and_stops_cleanly_on_sigterm(service, mode):
    svc = service(WEB_FRAMEWORK=mode)
    assert len(svc.workers()) == 2
    assert requests.get(svc.url + PATHS[0], timeout=5).status_code == 200
    assert svc.stop() == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(svc.url + PATHS[0], timeout=2)


@pytest.mark.parametrize("mode", ["django", "pecan"])
def test_sigterm_lets_a_request_in_flight_finish_before_the_server_exits(service, mode):
    cloud = Tarpit()  # accepts and never answers: the registration's check waits its timeout
    svc = service(WEB_FRAMEWORK=mode, MULTICLOUD_CLOUD_TIMEOUT="2")
    esr = {
        "service-url": f"http://127.0.0.1:{cloud.port}/v3",
        "user-name": "u",
        "password": "p",
        "default-tenant": "t",
        "cloud-domain": "Default",
    }
    body = {
        "cloud-type": "openstack",
        "cloud-region-version": "pike",
        "esr-system-info-list": {"esr-system-info": [esr]},
    }
    answers: list = []

    def register() -> None:
        url = svc.url + "/api/multicloud/v0/owner_region/registry"
        answers.append(requests.post(url, json=body, timeout=30))

    request = threading.Thread(target=register)
    request.start()
    deadline = time.monotonic() + 20
    while cloud.accepted == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert cloud.accepted, f"the request never reached the cloud: {answers}"
        assert svc.stop() == 0
        request.join(30)
    finally:
        cloud.close()
    assert answers and answers[0].status_code == 400
    assert "cannot be reached" in answers[0].json()["error"]


@pytest.mark.parametrize("mode", ["django", "pecan"])
def test_a_killed_worker_is_replaced(service, mode):
    svc = service(WEB_FRAMEWORK=mode)
    before = svc.workers()
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        now = svc.workers()
        if len(now) == 2 and victim not in now:
            break
        time.sleep(0.2)
    assert len(svc.workers()) == 2 and victim not in svc.workers()
    for _ in range(20):
        assert requests.get(svc.url + PATHS[0], timeout=5).status_code == 200


@pytest.mark.parametrize("mode", ["django", "pecan"])
def test_migrations_are_applied_at_start(service, mode, tmp_path):
    svc = service(WEB_FRAMEWORK=mode)
    assert "migrations applied)" in svc.output()
    assert {"django_migrations", "vims_cloudregion"} <= applied_tables(svc, tmp_path)


def applied_tables(svc, tmp_path) -> set[str]:
    """The tables of the database the server runs on (its SQLite file, or its PostgreSQL
    database in the PostgreSQL pass)."""
    if svc.database_url.startswith(("postgres://", "postgresql://")):
        with psycopg.connect(svc.database_url) as conn:
            rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return {name for (name,) in rows}
    path = tmp_path / "data" / "multicloud.sqlite3"
    assert path.exists()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WEB_FRAMEWORK": "tornado"}, "WEB_FRAMEWORK='tornado': must be one of django, pecan"),
        ({"MULTICLOUD_PORT": "http"}, "MULTICLOUD_PORT='http': must be an integer"),
        ({"DATABASE_URL": "oracle://db"}, "DATABASE_URL"),
    ],
)
def test_a_misconfigured_start_exits_non_zero_with_a_clear_message(tmp_path, env, message):
    svc = Service(tmp_path, **env)
    code = svc.proc.wait(30)
    assert code != 0
    assert f"configuration error: {message}" in svc.output()


def test_an_unreachable_database_stops_the_start(tmp_path):
    svc = Service(tmp_path, DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    assert svc.proc.wait(60) != 0
    assert "connection" in svc.output().lower()
