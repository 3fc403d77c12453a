"""The deployment under test: the network, a PostgreSQL server of its own, three API
replicas (two django, one pecan) each ``run.sh`` in its own namespace, two ``run_listener``
replicas, HAProxy in front; the OpenStack sandbox, RabbitMQ and the Message Router
double are the machine's (reached through :mod:`tests.deployment.network`).

Everything :meth:`Deployment.start` starts, :meth:`Deployment.stop` stops, whatever
state the tests left it in; a crashed run's leftovers are removed by the next start.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

from tests.deployment import network, postgres
from tests.deployment.haproxy import HEALTH_PATH, HAProxy
from tests.integration.rabbit import HOST as RABBIT_HOST
from tests.integration.rabbit import Broker, ListenerProcess

ROOT = Path(__file__).resolve().parents[2]
API_PORT = 9001
#: Generous but bounded waits (a loaded 2-core machine): start-up, and a replica's stop.
READY_TIMEOUT = 240.0
STOP_TIMEOUT = 30.0
#: Settings the scenarios depend on (the figures state them).
CLOUD_TIMEOUT = 5
AUTH_CACHE_TTL = 5
WORKERS = 2
THREADS = 8
#: What HAProxy sends a replica at once: a django worker serves THREADS requests at a time,
#: a pecan worker up to 1,024 green threads (HAProxy's own limit applies first).
CAPACITY = {"django": WORKERS * THREADS, "pecan": 1000}
#: API replicas: name → (last octet, framework); listeners: name → last octet.
API_REPLICAS = {"a1": (11, "django"), "a2": (12, "django"), "a3": (13, "pecan")}
LISTENERS = {"l1": 21, "l2": 22}
BALANCER = ("lb", 5)
DATABASE_HOST = ("db", 3)
OWNER = "deploy"
#: The region reached at 127.0.0.1 like the sandbox's catalog, and the one reached at the
#: machine's second bridge address (its Keystone traffic has a path of its own to impair).
NEAR, FAR = "near", "far"
EVENTS_TOPIC = "unauthenticated.MULTICLOUD_VM_EVENTS"


def _port(url: str, default: int) -> int:
    return urlsplit(url).port or default


def sandbox_ports(env: dict[str, str]) -> list[int]:
    """The ports of every service URL the sandbox's endpoints.env names."""
    return [
        _port(value, 80)
        for key, value in env.items()
        if key.endswith("_URL") and value.startswith(("http://", "https://"))
    ]


def _write_secret(path: Path, value: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(value)
    path.chmod(0o600)
    return path


def _cmdline(pid: int) -> str:
    """The command line of a live process; "" once it exited (a zombie has none)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
    except OSError:
        return ""


@dataclass
class Replica:
    """One process tree in a host: started in the host's namespace, stopped, killed."""

    name: str
    host: network.Host
    argv: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen | None = None
    starts: int = 0
    #: processes of the host still running after its main process exited on SIGTERM
    outlived: list[str] = field(default_factory=list)

    def start(self) -> None:
        self.starts += 1
        with self.log.open("a") as out:
            out.write(f"\n===== start {self.starts} =====\n")
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.host.argv(*self.argv),
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def signal(self, signum: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def terminate(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM to the main process (as Kubernetes does), its exit code; the rest of
        the namespace is killed if something outlives it."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise AssertionError(f"{self.name} did not stop {timeout}s after SIGTERM") from None
        self.outlived = self._outliving()
        self.host.kill_all()
        return code

    def _outliving(self, grace: float = 3.0) -> list[str]:
        """Processes of the host still alive ``grace`` seconds after the main one exited
        (children exiting with it, or being reaped, are not)."""
        deadline = time.monotonic() + grace
        while True:
            alive = [pid for pid in self.host.pids() if _cmdline(pid)]
            if not alive or time.monotonic() > deadline:
                return [_cmdline(pid) for pid in alive]
            time.sleep(0.1)

    def kill9(self) -> None:
        """kill -9 of every process of the host (the pod dies)."""
        self.host.kill_all(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)

    def output(self, last_start: bool = True) -> str:
        text = self.log.read_text(errors="replace")
        return text.rsplit("===== start ", 1)[-1] if last_start else text

    def tail(self, chars: int = 3000) -> str:
        return f"--- {self.name} ({self.log}):\n{self.output()[-chars:]}"


@dataclass
class ApiReplica(Replica):
    framework: str = "django"

    @property
    def url(self) -> str:
        return f"http://{self.host.address}:{API_PORT}"

    def healthy(self) -> bool:
        try:
            return requests.get(self.url + HEALTH_PATH, timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def migrations_applied(self, start: int = 1) -> int | None:
        """What ``run.sh`` said it applied at its ``start``-th start."""
        text = self.output(last_start=False).split(f"===== start {start} =====", 1)[-1]
        found = re.search(r"database ready \((\d+) migrations applied\)", text)
        return int(found.group(1)) if found else None


@dataclass
class Figures:
    """Each scenario's numbers: printed, shown in the terminal summary, and written to
    ``bench/DEPLOYMENT.md`` (between its figure markers) when DEPLOYMENT_REPORT names it."""

    sections: dict[str, list[str]] = field(default_factory=dict)

    def record(self, title: str, *lines: str) -> None:
        self.sections[title] = list(lines)
        print(f"\n{title}")
        for line in lines:
            print(f"  {line}")

    def text(self) -> str:
        out = []
        for title, lines in self.sections.items():
            out.append(f"**{title}**\n")
            out += [f"- {line}" for line in lines]
            out.append("")
        return "\n".join(out)

    START, END = "<!-- figures:start -->", "<!-- figures:end -->"

    def write(self, path: Path, header: str) -> None:
        text = path.read_text() if path.exists() else f"{self.START}\n{self.END}\n"
        before, rest = text.split(self.START, 1)
        after = rest.split(self.END, 1)[1]
        path.write_text(f"{before}{self.START}\n{header}\n\n{self.text()}\n{self.END}{after}")


def wait_until(check: Callable[[], bool], timeout: float, what: str, every: float = 0.1) -> float:
    """Poll until ``check()``; the seconds it took (AssertionError after ``timeout``)."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)
    return time.monotonic() - started


class Deployment:
    """The whole deployment; :meth:`start` once per session, :meth:`stop` at the end."""

    def __init__(self, workdir: Path, sandbox, broker: Broker, mr, figures: Figures):
        self.workdir = workdir
        self.sandbox = sandbox
        self.broker = broker
        self.mr = mr
        self.tag = network.run_tag()
        self.figures = figures
        self.net: network.Network | None = None
        self.db: postgres.PrivatePostgres | None = None
        self.api: dict[str, ApiReplica] = {}
        self.listeners: dict[str, Replica] = {}
        self.lb: HAProxy | None = None
        self._token: tuple[float, str] | None = None
        self._secret_env: dict[str, str] = {}
        #: the most sessions the replicas and listeners held on the database at once
        self.peak_connections = 0
        self._sampling = threading.Event()
        self.started_in = 0.0

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        started = time.monotonic()
        network.ensure_command("nft", "nftables")
        network.remove_leftovers()
        postgres.remove_stale_clusters()
        self.net = network.Network(self.tag, network.free_subnet(os.getpid()), self._ports())
        self.net.create()
        self.db = postgres.PrivatePostgres(self.net.add_host(*DATABASE_HOST), self.tag)
        self.db.create()
        self._start_api_replicas()
        self._start_balancer()
        self._start_listeners()
        self.started_in = time.monotonic() - started
        threading.Thread(target=self._sample_connections, daemon=True).start()

    def _sample_connections(self) -> None:
        assert self.db is not None
        while not self._sampling.wait(0.5):
            with contextlib.suppress(Exception):
                self.peak_connections = max(self.peak_connections, self.db.connections())

    def _ports(self) -> list[int]:
        return [
            int(RABBIT_HOST.rsplit(":", 1)[1]),
            _port(self.mr.url, 80),
            *sandbox_ports(self.sandbox.env),
        ]

    def _secrets(self) -> dict[str, str]:
        folder = self.workdir / "secrets"
        from cryptography.fernet import Fernet

        return {
            "MULTICLOUD_SECRET_KEY_FILE": str(
                _write_secret(folder / "secret_key", secrets.token_hex(32))
            ),
            "MULTICLOUD_ENCRYPTION_KEY_FILE": str(
                _write_secret(folder / "encryption_key", Fernet.generate_key().decode())
            ),
            "MULTICLOUD_AUTH_PASSWORD_FILE": str(
                _write_secret(folder / "auth_password", self.sandbox.admin.password)
            ),
        }

    def _base_env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("MULTICLOUD_") and k != "DATABASE_URL"
        }
        assert self.db is not None
        if not self._secret_env:
            self._secret_env = self._secrets()
        env.update(self._secret_env)
        env.update(
            DATABASE_URL=self.db.url,
            MULTICLOUD_PYTHON=sys.executable,
            MULTICLOUD_LOG_LEVEL="INFO",
            MULTICLOUD_IMAGE_STAGING_DIR=str(self.workdir / "staging"),
            MULTICLOUD_CLOUD_TIMEOUT=str(CLOUD_TIMEOUT),
            # NOTE: the harness runs as root and this machine's interpreter lives under
            # /root, which nobody (MULTICLOUD_RUN_AS's default for root) cannot read.
            MULTICLOUD_RUN_AS="root",
        )
        return env

    def _api_env(self, name: str, framework: str) -> dict[str, str]:
        return {
            **self._base_env(),
            "WEB_FRAMEWORK": framework,
            "MULTICLOUD_HOST": "0.0.0.0",
            "MULTICLOUD_PORT": str(API_PORT),
            "MULTICLOUD_WORKERS": str(WORKERS),
            "MULTICLOUD_THREADS": str(THREADS),
            "MULTICLOUD_DATA_DIR": str(self.workdir / name / "data"),
            "MULTICLOUD_AUTH": "keystone",
            "MULTICLOUD_AUTH_URL": self.sandbox.auth_url,
            "MULTICLOUD_AUTH_USERNAME": self.sandbox.admin.username,
            "MULTICLOUD_AUTH_PROJECT": self.sandbox.admin.project_name,
            "MULTICLOUD_AUTH_CACHE_TTL": str(AUTH_CACHE_TTL),
        }

    def _start_api_replicas(self) -> None:
        assert self.net is not None
        for name, (last, framework) in API_REPLICAS.items():
            host = self.net.add_host(name, last)
            replica = ApiReplica(
                name,
                host,
                [str(ROOT / "run.sh")],
                self._api_env(name, framework),
                self.workdir / f"{name}.log",
                framework=framework,
            )
            self.api[name] = replica
        # NOTE: all at once on the empty database: the migrations must run once.
        for replica in self.api.values():
            replica.start()
        for replica in self.api.values():
            self.wait_healthy(replica)

    def _start_balancer(self) -> None:
        assert self.net is not None
        name, last = BALANCER
        host = self.net.add_host(name, last)
        servers = {name: (r.host.address, CAPACITY[r.framework]) for name, r in self.api.items()}
        self.lb = HAProxy(host, servers, API_PORT, self.workdir)
        self.lb.start()
        for replica in self.api:
            self.wait_in_rotation(replica)

    def _listener_env(self, name: str) -> dict[str, str]:
        env = ListenerProcess.environment(self.workdir / name, self.db, self.broker, self.mr.url)
        env.update(self._base_env())
        env.update(MULTICLOUD_DATA_DIR=str(self.workdir / name / "data"))
        return env

    @property
    def pool(self) -> str:
        return next(iter(self.listeners.values())).env["MULTICLOUD_EVENTS_POOL"]

    def _start_listeners(self) -> None:
        assert self.net is not None
        for name, last in LISTENERS.items():
            host = self.net.add_host(name, last)
            self.listeners[name] = Replica(
                name,
                host,
                [sys.executable, "manage.py", "run_listener", "--stats-interval", "5"],
                self._listener_env(name),
                self.workdir / f"{name}.log",
            )
        for listener in self.listeners.values():
            listener.start()
        self.wait_consumers(len(self.listeners))

    def consumers(self) -> int:
        found = self.broker.queue(self.pool)
        return found[1] if found else 0

    def wait_consumers(self, count: int) -> float:
        def enough() -> bool:
            for listener in self.listeners.values():
                if not listener.running():
                    raise AssertionError(f"{listener.name} exited:\n{listener.tail()}")
            return self.consumers() >= count

        return wait_until(enough, READY_TIMEOUT, f"{count} listener consumers", every=0.5)

    def stop(self) -> None:
        """Stop everything this run started (also after a failed test)."""
        self._sampling.set()
        running = [r for r in [*self.listeners.values(), *self.api.values()] if r.running()]
        for replica in running:
            replica.signal(signal.SIGTERM)
        for replica in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                replica.wait(STOP_TIMEOUT)
        if self.lb is not None:
            self.lb.stop()
        if self.db is not None:
            self.db.destroy()
        if self.net is not None:
            self.net.destroy()

    # ------------------------------------------------------------------ waiting

    def wait_healthy(self, replica: ApiReplica, timeout: float = READY_TIMEOUT) -> float:
        def ready() -> bool:
            if not replica.running():
                raise AssertionError(f"{replica.name} exited:\n{replica.tail()}")
            return replica.healthy()

        return wait_until(ready, timeout, f"{replica.name} to be healthy", every=0.2)

    def wait_in_rotation(self, name: str, timeout: float = READY_TIMEOUT) -> float:
        assert self.lb is not None
        lb = self.lb
        return wait_until(lambda: lb.status(name) == "UP", timeout, f"HAProxy to see {name} UP")

    def wait_out_of_rotation(self, name: str, timeout: float = 30.0) -> float:
        assert self.lb is not None
        lb = self.lb
        return wait_until(
            lambda: lb.status(name).startswith("DOWN"), timeout, f"HAProxy to see {name} DOWN", 0.02
        )

    # ------------------------------------------------------------------ access

    @property
    def sandbox_keystone_port(self) -> int:
        return _port(self.sandbox.auth_url, 5000)

    @property
    def url(self) -> str:
        """The load balancer: what clients use."""
        assert self.lb is not None
        return self.lb.url

    def token(self) -> str:
        """An admin token of the sandbox's Keystone (what MULTICLOUD_AUTH=keystone checks)."""
        if self._token is None or time.monotonic() - self._token[0] > 1800:
            from tests.sandbox import make_session

            self._token = (
                time.monotonic(),
                make_session(self.sandbox, self.sandbox.admin).get_token(),
            )
        return self._token[1]

    def headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.token(), "Accept": "application/json"}

    def warm(self, paths: list[str], times: int = 8) -> None:
        """Send each replica ``paths`` a few times: every worker makes its cloud sessions and
        validates the token once (a cold worker's first call takes seconds here)."""
        for replica in self.api.values():
            for _ in range(times):
                for path in paths:
                    requests.get(replica.url + path, headers=self.headers(), timeout=60)

    def restart(self, name: str) -> float:
        """Start a stopped or killed API replica again; seconds until HAProxy has it UP."""
        replica = self.api[name]
        started = time.monotonic()
        replica.start()
        self.wait_healthy(replica)
        self.wait_in_rotation(name)
        return time.monotonic() - started

    def heal(self) -> None:
        """Back to normal between scenarios: faults removed, the database open, every
        replica running and in rotation, every listener consuming."""
        assert self.net is not None and self.db is not None
        for host in self.net.hosts.values():
            host.heal()
        if not self.db.running():
            self.db.start()
        for name, replica in self.api.items():
            if not replica.running():
                replica.kill9()
                self.restart(name)
            self.wait_in_rotation(name)
        for listener in self.listeners.values():
            if not listener.running():
                listener.kill9()
                listener.start()
        self.wait_consumers(len(self.listeners))

    def tails(self) -> str:
        return "\n".join(r.tail() for r in [*self.api.values(), *self.listeners.values()])
