"""A real run.sh server process for tests (system tests, plugins, streaming)."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
READY_PATH = "/api/multicloud/v0/vim_types"


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
                # NOTE: the tests run as root with their files in root-only temporary
                # directories; a server that dropped to nobody could not read them.
                "MULTICLOUD_RUN_AS": "root",
                **env,
            }
        )
        if "DATABASE_URL" not in env and _is_postgresql(environ.get("DATABASE_URL", "")):
            # NOTE: the PostgreSQL pass: a database of its own, dropped when the run ends.
            environ["DATABASE_URL"] = _own_database(tmp_path)
        #: the database this server runs on ('' = the SQLite file in its data directory)
        self.database_url = environ.get("DATABASE_URL", "")
        with open(self.log, "wb") as out:
            # NOTE: its own process group, so interrupt() can do what Ctrl-C does.
            self.proc = subprocess.Popen(
                [str(ROOT / "run.sh")],
                env=environ,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 40.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"run.sh exited {self.proc.returncode}: {self.output()}")
            try:
                requests.get(self.url + READY_PATH, timeout=3)
                return
            except requests.RequestException:
                time.sleep(0.2)
        # NOTE: a server that never got ready must not outlive the test that started it.
        with contextlib.suppress(AssertionError):
            self.stop()
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

    def interrupt(self, timeout: float = 30.0) -> str:
        """Ctrl-C in a terminal: SIGINT to run.sh's whole process group (server, workers, log
        filter); what it printed from then on, once every process of the group has gone."""
        said_before = len(self.log.read_text(errors="replace"))
        os.killpg(self.proc.pid, signal.SIGINT)
        deadline = time.monotonic() + timeout
        try:
            self.proc.wait(timeout)
            while _group_alive(self.proc.pid):
                assert time.monotonic() < deadline, "run.sh's processes outlived Ctrl-C"
                time.sleep(0.05)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        return self.log.read_text(errors="replace")[said_before:]

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def workers(self) -> set[int]:
        return set(_children(self.proc.pid))


#: What a clean stop never prints (uWSGI's alarms about the workers it stops, a traceback).
ALARMS = ("deadlock", "DAMN", "robust mutex", "Traceback")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _is_postgresql(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


_DATABASES: list = []


def _own_database(tmp_path: Path) -> str:
    from tests.integration.rabbit import Database

    if not _DATABASES:
        atexit.register(lambda: [db.drop() for db in _DATABASES])
    database = Database(tmp_path)
    _DATABASES.append(database)
    return database.url


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found += [int(c) for c in children]
    return found
