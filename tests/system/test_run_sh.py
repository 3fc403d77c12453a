"""run.sh as a real process, in each mode, on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
PATHS = [
    "/api/multicloud/v0/vim_types",
    "/api/multicloud/v1/vim_types",
    "/api/multicloud/v0/swagger.json",
    "/api/multicloud-vio/v0/swagger.json",
    "/api/multicloud/v0/healthcheck",
    "/api/multicloud/v0/unknown",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """One run.sh process; stopped with SIGTERM, killed if it will not stop."""

    def __init__(self, tmp_path: Path, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"run-{self.port}.log"
        environ = {k: v for k, v in os.environ.items() if not k.startswith("MULTICLOUD_")}
        environ.update(
            {
                "MULTICLOUD_HOST": "127.0.0.1",
                "MULTICLOUD_PORT": str(self.port),
                "MULTICLOUD_DATA_DIR": str(tmp_path / "data"),
                "MULTICLOUD_WORKERS": "2",
                "MULTICLOUD_PYTHON": sys.executable,
                **env,
            }
        )
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [str(ROOT / "run.sh")], env=environ, stdout=out, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout: float = 40.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"run.sh exited {self.proc.returncode}: {self.output()}")
            try:
                requests.get(self.url + PATHS[0], timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise AssertionError(f"run.sh did not answer within {timeout}s: {self.output()}")

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("run.sh did not stop on SIGTERM") from None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def workers(self) -> set[int]:
        return set(_children(self.proc.pid))


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found += [int(c) for c in children]
    return found


@pytest.fixture
def service(tmp_path):
    started = []

    def start(**env: str) -> Service:
        svc = Service(tmp_path, **env)
        started.append(svc)
        svc.wait_ready()
        return svc

    yield start
    for svc in started:
        if svc.proc.poll() is None:
            svc.stop()


def snapshot(url: str) -> list[tuple]:
    answers = []
    for path in PATHS:
        response = requests.get(url + path, timeout=5)
        answers.append(
            (path, response.status_code, response.headers["Content-Type"], response.content)
        )
    return answers


def test_both_modes_answer_the_same_bodies(service):
    django = service(WEB_FRAMEWORK="django")
    pecan = service(WEB_FRAMEWORK="pecan")
    assert snapshot(django.url) == snapshot(pecan.url)
    assert snapshot(django.url)[0][1] == 200


@pytest.mark.parametrize("mode", ["django", "pecan"])
def test_each_mode_runs_its_workers_and_stops_cleanly_on_sigterm(service, mode):
    svc = service(WEB_FRAMEWORK=mode)
    assert len(svc.workers()) == 2
    assert requests.get(svc.url + PATHS[0], timeout=5).status_code == 200
    assert svc.stop() == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(svc.url + PATHS[0], timeout=2)


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
    assert "Running migrations" in svc.output() or "No migrations to apply" in svc.output()
    assert (tmp_path / "data" / "multicloud.sqlite3").exists()


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
