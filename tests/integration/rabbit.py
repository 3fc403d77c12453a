"""Real RabbitMQ (127.0.0.1:5672) for listener tests: a throwaway vhost and user per test,
an oslo.messaging Notifier that plays Nova, and ``run_listener`` as a real subprocess.

Loopback only. Each vhost/user is deleted at teardown. A test that needs RabbitMQ skips
with the reason when ``rabbitmqctl`` is missing or the broker does not answer (fails under
``CI=true``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from tests.missing import missing

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1:5672"


def _unavailable(reason: str) -> NoReturn:
    missing(f"RabbitMQ not available: {reason}")


def rabbitmqctl(*args: str, check: bool = True) -> str:
    done = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


@dataclass
class Broker:
    """A private vhost with two users: ``guest`` plays Nova, ``listener_user`` is ours."""

    vhost: str
    listener_user: str
    listener_password: str

    @property
    def nova_url(self) -> str:
        return f"rabbit://guest:guest@{HOST}/{self.vhost}"

    @property
    def listener_url(self) -> str:
        return f"rabbit://{self.listener_user}:{self.listener_password}@{HOST}/{self.vhost}"

    def queue(self, name: str) -> tuple[int, int] | None:
        """(messages, consumers) of a queue, None when it does not exist."""
        for line in rabbitmqctl(
            "list_queues", "-p", self.vhost, "name", "messages", "consumers"
        ).splitlines():
            parts = line.split("\t")
            if len(parts) == 3 and parts[0] == name:
                return int(parts[1]), int(parts[2])
        return None

    def drop_listener_connections(self) -> None:
        rabbitmqctl("close_all_user_connections", self.listener_user, "test: connection drop")


@contextmanager
def private_broker() -> Iterator[Broker]:
    """A throwaway vhost and listener user (the ``broker`` fixture); skipped without RabbitMQ."""
    if shutil.which("rabbitmqctl") is None:
        _unavailable("rabbitmqctl not found")
    if (
        subprocess.run(["rabbitmqctl", "-q", "status"], capture_output=True, timeout=60).returncode
        != 0
    ):
        _unavailable("rabbitmqctl status failed")
    tag = uuid.uuid4().hex[:10]
    b = Broker(f"mc-events-{tag}", f"mc-listener-{tag}", uuid.uuid4().hex)
    rabbitmqctl("add_vhost", b.vhost)
    rabbitmqctl("add_user", b.listener_user, b.listener_password)
    for user in ("guest", b.listener_user):
        rabbitmqctl("set_permissions", "-p", b.vhost, user, ".*", ".*", ".*")
    try:
        yield b
    finally:
        rabbitmqctl("delete_vhost", b.vhost, check=False)
        rabbitmqctl("delete_user", b.listener_user, check=False)


class Nova:
    """Sends notifications the way Nova does (oslo.messaging Notifier, messagingv2)."""

    def __init__(self, url: str, durable: bool = False, quorum: bool = False):
        import oslo_messaging

        from listener.transport import oslo_config

        conf = oslo_config(prefetch=0, durable=durable, quorum=quorum)
        conf.set_override("control_exchange", "nova")
        self.transport = oslo_messaging.get_notification_transport(conf, url=url)
        self.notifiers = {
            topic: oslo_messaging.Notifier(self.transport, driver="messagingv2", topics=[topic])
            for topic in ("notifications", "versioned_notifications")
        }
        # NOTE: what Nova puts in the context: it must never reach Message Router.
        self.context = {"auth_token": "gAAAAA-secret-token", "user_name": "admin"}

    def send(self, item: dict) -> None:
        versioned = (
            item["event_type"].startswith("instance.") or "nova_object.data" in item["payload"]
        )
        topic = "versioned_notifications" if versioned else "notifications"
        notifier = self.notifiers[topic].prepare(publisher_id=item["publisher_id"])
        getattr(notifier, item["priority"].lower())(
            self.context, item["event_type"], item["payload"]
        )

    def send_all(self, items: Iterable[dict]) -> int:
        count = 0
        for item in items:
            self.send(item)
            count += 1
        return count

    def close(self) -> None:
        self.transport.cleanup()


class Database:
    """A database of its own for the listener subprocess: SQLite file, or PostgreSQL when
    the suite runs with DATABASE_URL=postgresql://... (a fresh database, dropped after)."""

    def __init__(self, tmp: Path):
        base = os.environ.get("DATABASE_URL", "")
        self.pg_name = None
        if base.startswith(("postgres://", "postgresql://")):
            self.pg_name = f"mc_events_it_{uuid.uuid4().hex[:10]}"
            self.admin_url = base
            self.url = base.rsplit("/", 1)[0] + "/" + self.pg_name
            self._psql(f'CREATE DATABASE "{self.pg_name}"')
        else:
            self.url = f"sqlite:///{tmp / 'events.sqlite3'}"

    def _psql(self, sql: str) -> None:
        server = self.admin_url.rsplit("/", 1)[0] + "/postgres"
        subprocess.run(
            ["psql", server, "-q", "-c", sql], check=True, capture_output=True, timeout=60
        )

    def go_down(self) -> None:
        """PostgreSQL only: refuse new connections to this database and cut the open ones."""
        self._psql(f'ALTER DATABASE "{self.pg_name}" ALLOW_CONNECTIONS false')
        self._psql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{self.pg_name}'"
        )

    def come_back(self) -> None:
        self._psql(f'ALTER DATABASE "{self.pg_name}" ALLOW_CONNECTIONS true')

    def drop(self) -> None:
        if self.pg_name:
            self._psql(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


class ListenerProcess:
    """``python manage.py run_listener`` as a real process."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @classmethod
    def environment(
        cls, tmp: Path, db: Database, broker: Broker, mr_url: str, **extra: str
    ) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MULTICLOUD_")}
        env.update(
            {
                "DATABASE_URL": db.url,
                "MULTICLOUD_DATA_DIR": str(tmp / "data"),
                "MULTICLOUD_LOG_LEVEL": "INFO",
                "MULTICLOUD_EVENTS_TRANSPORT_URL": broker.listener_url,
                "MULTICLOUD_EVENTS_CLOUD_OWNER": "osbox",
                "MULTICLOUD_EVENTS_CLOUD_REGION_ID": "RegionOne",
                "MULTICLOUD_EVENTS_POOL": f"onap-multicloud-test-{broker.vhost}",
                "MULTICLOUD_EVENTS_DEFAULT_STATES": "CREATE,DELETE,SOFT_DELETE,SHUT_DOWN,POWER_OFF,"
                "POWER_ON,PAUSE,UNPAUSE,SUSPEND,RESUME,REBOOT,"
                "REBUILD,UPDATE,ERROR",
                "MULTICLOUD_EVENTS_DEFAULT_TOPIC": "unauthenticated.MULTICLOUD_VM_EVENTS",
                "MULTICLOUD_EVENTS_PHASES": "START,END,ERROR,NONE",
                "MULTICLOUD_MR_URL": mr_url,
                "MULTICLOUD_MR_RETRY_MIN": "0.05",
                "MULTICLOUD_MR_RETRY_MAX": "0.5",
                "MULTICLOUD_MR_TIMEOUT": "5",
            }
        )
        env.update(extra)
        return env

    def migrate(self) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"],
            cwd=REPO,
            env=self.env,
            check=True,
            timeout=120,
        )

    def start(
        self,
        broker: Broker,
        timeout: float = 60,
        pool: str | None = None,
        args: tuple[str, ...] = (),
    ) -> ListenerProcess:
        self.starts += 1
        log = self.log_path.open("a")
        log.write(f"\n===== start {self.starts} =====\n")
        log.flush()
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "run_listener", "--stats-interval", "2", *args],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # NOTE: a process group of its own: kill9() kills run_listener with its
            # publisher process, as a killed container does.
            start_new_session=True,
        )
        pool = pool or self.env["MULTICLOUD_EVENTS_POOL"]
        deadline = time.monotonic() + timeout
        while True:
            found = broker.queue(pool)
            if found and found[1] > 0:
                return self
            if self.proc.poll() is not None:
                raise AssertionError(f"run_listener exited {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"run_listener not consuming after {timeout}s:\n{self.log()}")
            time.sleep(0.3)

    def django(self, code: str) -> str:
        """Run Python in the listener's Django environment (its database and keys)."""
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def terminate(self, timeout: float = 30) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill9(self) -> None:
        """SIGKILL to run_listener and its publisher process at once."""
        assert self.proc is not None
        _kill_group(self.proc.pid)
        self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text()

    def ensure_stopped(self) -> None:
        if self.proc is not None:
            _kill_group(self.proc.pid)  # NOTE: its publisher process too, if still there
            if self.proc.poll() is None:
                self.proc.wait(10)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def seq_corpus(count: int) -> list[dict]:
    """``count`` captured notifications, each tagged with a sequence number that flows
    through to the published message (legacy payload ``metadata.mc_seq``)."""
    from tests.nova_corpus import replay

    items = []
    for seq, item in enumerate(replay(count)):
        payload = dict(item["payload"])
        if "nova_object.data" not in payload and isinstance(payload.get("metadata"), dict):
            payload["metadata"] = {**payload["metadata"], "mc_seq": str(seq)}
        items.append({**item, "payload": payload, "seq": seq})
    return items


def expected_seqs(items: list[dict], phases=("START", "END", "ERROR", "NONE")) -> set[str]:
    """Sequence numbers the listener must publish: legacy instance events of those phases."""
    from listener.notifications import Format, classify

    wanted = set()
    for item in items:
        found = classify(item["event_type"])
        if (
            found
            and found[0] is Format.LEGACY
            and found[2].value in phases
            and "mc_seq" in item["payload"].get("metadata", {})
        ):
            wanted.add(str(item["seq"]))
    return wanted


def published_seqs(messages: list) -> list[str]:
    return [m.get("metadata", {}).get("mc_seq") for m in messages if isinstance(m, dict)]


def send_in_background(nova: Nova, items: list[dict]) -> threading.Thread:
    thread = threading.Thread(target=nova.send_all, args=(items,), daemon=True)
    thread.start()
    return thread


def wait_until(predicate, timeout: float, what: str, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
