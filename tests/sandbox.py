"""Pytest fixtures for tests that talk to the OpenStack sandbox (tools/openstack-sandbox.sh).

A plugin of the whole suite (``pytest_plugins`` in tests/conftest.py): every test may ask
for these fixtures by name.

Fixtures (all independent of Django):

* ``sandbox`` (session): a :class:`Sandbox` parsed from ``$STATE/endpoints.env``.
* ``admin_session`` / ``demo_session`` (session): keystoneauth1 sessions for the admin
  and the non-admin ``demo`` project.
* ``servers`` (function): a :class:`ServerHelper` on the admin session; every server it
  boots is deleted (soft-delete aware) at teardown.
* ``nova_notifications`` (session): a started :class:`NotificationListener`.

The state dir is ``$MULTICLOUD_SANDBOX_STATE`` or ``<repo>/.sandbox/state``. If the
sandbox is not running, the tests that need it are skipped, or fail when ``CI=true``.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest
import requests

from tests.missing import missing

__all__ = [
    "Credentials",
    "NotificationListener",
    "Sandbox",
    "SandboxUnavailable",
    "ServerHelper",
    "admin_session",
    "demo_session",
    "load_sandbox",
    "make_session",
    "nova_notifications",
    "sandbox",
    "servers",
]

REPO = Path(__file__).resolve().parent.parent
DEFAULT_STATE = REPO / ".sandbox" / "state"
NOVA_MICROVERSION = "2.37"  # lowest version that accepts "networks": "none"
NOTIFICATION_EXCHANGE = "nova"
NOTIFICATION_TOPICS = ("notifications", "versioned_notifications")


class SandboxUnavailable(Exception):
    """The sandbox state dir is missing or its Keystone does not answer."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)
    project_name: str
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"


@dataclass(frozen=True)
class Sandbox:
    state: Path
    auth_url: str  # ends in /v3
    region: str
    admin: Credentials
    demo: Credentials
    transport_url: str  # oslo.messaging URL, rabbit://...:5672/<vhost>
    neutron_kind: str  # "real" or "stub"
    glance_url: str
    nova_url: str
    neutron_url: str
    env: dict = field(repr=False, default_factory=dict)  # every KEY=VALUE of endpoints.env


def state_dir() -> Path:
    return Path(os.environ.get("MULTICLOUD_SANDBOX_STATE") or DEFAULT_STATE)


def _parse_env_file(path: Path) -> dict:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip().strip("'\"")
    return values


def load_sandbox(state: Path | None = None, probe: bool = True) -> Sandbox:
    """Read endpoints.env; with ``probe`` also check that Keystone answers."""
    state = Path(state) if state else state_dir()
    env_file = state / "endpoints.env"
    if not env_file.is_file():
        raise SandboxUnavailable(
            f"no {env_file}; `make test` starts the sandbox itself (`make sandbox-up` "
            f"starts it alone; or set MULTICLOUD_SANDBOX_STATE)"
        )
    env = _parse_env_file(env_file)
    sb = Sandbox(
        state=state,
        auth_url=env["OSBOX_AUTH_URL"],
        region=env.get("OSBOX_REGION", "RegionOne"),
        admin=Credentials(
            env["OSBOX_ADMIN_USER"], env["OSBOX_ADMIN_PASSWORD"], env["OSBOX_ADMIN_PROJECT"]
        ),
        demo=Credentials(
            env["OSBOX_DEMO_USER"], env["OSBOX_DEMO_PASSWORD"], env["OSBOX_DEMO_PROJECT"]
        ),
        transport_url=env["OSBOX_TRANSPORT_URL"],
        neutron_kind=env.get("OSBOX_NEUTRON_KIND", "stub"),
        glance_url=env.get("OSBOX_GLANCE_URL", ""),
        nova_url=env.get("OSBOX_NOVA_URL", ""),
        neutron_url=env.get("OSBOX_NEUTRON_URL", ""),
        env=env,
    )
    if probe:
        try:
            requests.get(sb.auth_url, timeout=3).raise_for_status()
        except requests.RequestException as exc:
            raise SandboxUnavailable(
                f"sandbox Keystone at {sb.auth_url} does not answer ({exc}); "
                f"is tools/openstack-sandbox.sh running for {state}?"
            ) from exc
    return sb


def _unavailable(reason: str) -> NoReturn:
    missing(f"OpenStack sandbox not running: {reason}")


def require_cinder(sb: Sandbox) -> None:
    """Skip (fail with CI=true) when the sandbox runs without Cinder."""
    _require(sb, "OSBOX_CINDER_URL", "Cinder (OSBOX_CINDER=0, or started before it had)")


def require_heat(sb: Sandbox) -> None:
    """Skip (fail with CI=true) when the sandbox runs without Heat (orchestration)."""
    _require(sb, "OSBOX_HEAT_URL", "orchestration endpoint (OSBOX_HEAT=0, or started before Heat)")


def require_port_binding(sb: Sandbox) -> None:
    """Skip (fail with CI=true) when the sandbox's Neutron does not bind ports."""
    _require(sb, "OSBOX_PORT_BINDING", "ports that bind (stub Neutron, or started before)")


def _require(sb: Sandbox, key: str, what: str) -> None:
    if key in sb.env:
        return
    missing(f"the sandbox in {sb.state} has no {what}")


def make_session(sb: Sandbox, creds: Credentials):
    """A keystoneauth1 Session scoped to ``creds``' project."""
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3

    auth = v3.Password(
        auth_url=sb.auth_url,
        username=creds.username,
        password=creds.password,
        project_name=creds.project_name,
        user_domain_name=creds.user_domain_name,
        project_domain_name=creds.project_domain_name,
    )
    return ks_session.Session(auth=auth)


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    try:
        return load_sandbox()
    except SandboxUnavailable as exc:
        _unavailable(str(exc))


@pytest.fixture(scope="session")
def admin_session(sandbox):
    return make_session(sandbox, sandbox.admin)


@pytest.fixture(scope="session")
def demo_session(sandbox):
    return make_session(sandbox, sandbox.demo)


# --------------------------------------------------------------------------- servers


class ServerHelper:
    """Boot and drive Nova servers through the API; deletes what it booted on cleanup()."""

    def __init__(self, session, region: str | None = None, microversion: str = NOVA_MICROVERSION):
        self.session = session
        self.filter = {"service_type": "compute", "interface": "public"}
        if region:
            self.filter["region_name"] = region
        self.headers = {"OpenStack-API-Version": f"compute {microversion}"}
        self.booted: list[str] = []

    def _call(self, method, path, **kw):
        kw.setdefault("raise_exc", True)
        return self.session.request(
            path, method, endpoint_filter=self.filter, headers=self.headers, **kw
        )

    def flavor_id(self, name: str) -> str:
        flavors = self._call("GET", "/flavors").json()["flavors"]
        return next(f["id"] for f in flavors if f["name"] == name)

    def image_id(self, name: str) -> str:
        resp = self.session.get(
            f"/v2/images?name={name}",
            endpoint_filter={"service_type": "image", "interface": "public"},
        )
        return resp.json()["images"][0]["id"]

    def boot(
        self,
        name: str | None = None,
        flavor: str = "m1.tiny",
        image: str = "fake-image",
        wait_status: str | None = "ACTIVE",
        timeout: float = 60,
        **extra,
    ) -> dict:
        body = {
            "name": name or f"mc-test-{uuid.uuid4().hex[:8]}",
            "flavorRef": self.flavor_id(flavor),
            "imageRef": self.image_id(image),
            "networks": "none",
            **extra,
        }
        server = self._call("POST", "/servers", json={"server": body}).json()["server"]
        self.booted.append(server["id"])
        if wait_status:
            return self.wait_for(server["id"], status=wait_status, timeout=timeout)
        return server

    def get(self, server_id: str) -> dict | None:
        resp = self._call("GET", f"/servers/{server_id}", raise_exc=False)
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        return resp.json()["server"]

    def action(self, server_id: str, name: str, value=None):
        return self._call("POST", f"/servers/{server_id}/action", json={name: value})

    def wait_for(
        self,
        server_id: str,
        status: str | None = None,
        vm_state: str | None = None,
        task_state_clear: bool = True,
        timeout: float = 60,
        interval: float = 0.3,
    ) -> dict:
        """Poll until status and/or OS-EXT-STS:vm_state match (and no task is running)."""
        deadline = time.monotonic() + timeout
        server = None
        while True:
            server = self.get(server_id)
            if server is None:
                raise AssertionError(
                    f"server {server_id} disappeared while waiting for "
                    f"status={status} vm_state={vm_state}"
                )
            ok = (
                (status is None or server["status"] == status)
                and (vm_state is None or server.get("OS-EXT-STS:vm_state") == vm_state)
                and (not task_state_clear or not server.get("OS-EXT-STS:task_state"))
            )
            if ok:
                return server
            if server["status"] == "ERROR" and status != "ERROR":
                raise AssertionError(f"server {server_id} went to ERROR: {server.get('fault')}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"server {server_id} not status={status} vm_state={vm_state} after "
                    f"{timeout}s: status={server['status']} "
                    f"vm_state={server.get('OS-EXT-STS:vm_state')} "
                    f"task_state={server.get('OS-EXT-STS:task_state')}"
                )
            time.sleep(interval)

    def wait_gone(self, server_id: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.get(server_id) is not None:
            if time.monotonic() > deadline:
                raise AssertionError(f"server {server_id} still present after {timeout}s")
            time.sleep(0.3)

    def delete(self, server_id: str, timeout: float = 60) -> None:
        """Delete for good: DELETE, and forceDelete when the cloud soft-deletes."""
        server = self.get(server_id)
        if server is None:
            return
        if server["status"] != "SOFT_DELETED":
            self._call("DELETE", f"/servers/{server_id}", raise_exc=False)
            deadline = time.monotonic() + timeout
            while (server := self.get(server_id)) is not None:
                if server["status"] == "SOFT_DELETED" or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
        if server is not None and server["status"] == "SOFT_DELETED":
            self.action(server_id, "forceDelete")
        self.wait_gone(server_id, timeout)

    def cleanup(self) -> None:
        errors = []
        for server_id in reversed(self.booted):
            try:
                self.delete(server_id)
            except Exception as exc:  # keep deleting the others
                errors.append(f"{server_id}: {exc}")
        self.booted.clear()
        if errors:
            raise AssertionError("server cleanup failed: " + "; ".join(errors))


@pytest.fixture
def servers(sandbox, admin_session):
    helper = ServerHelper(admin_session, sandbox.region)
    yield helper
    helper.cleanup()


# --------------------------------------------------------------------------- notifications


def _instance_id(payload) -> str | None:
    if not isinstance(payload, dict):
        return None
    if "nova_object.data" in payload:  # versioned
        return payload["nova_object.data"].get("uuid")
    return payload.get("instance_id") or payload.get("instance_uuid")


class NotificationListener:
    """oslo.messaging notification listener on the sandbox's RabbitMQ.

    Uses its own ``pool`` (a queue of its own bound to every ``<topic>.<priority>``), so
    it receives a copy of every Nova notification without stealing from other
    consumers. Keeps only priority, event_type, publisher_id, payload and metadata
    (never the request context, which carries tokens). Call stop() to delete the queue.
    """

    def __init__(
        self,
        transport_url: str,
        exchange: str = NOTIFICATION_EXCHANGE,
        topics=NOTIFICATION_TOPICS,
        pool: str | None = None,
    ):
        self.transport_url = transport_url
        self.exchange = exchange
        self.topics = tuple(topics)
        self.pool = pool or f"multicloud-test-{uuid.uuid4().hex[:12]}"
        self.received: list[dict] = []
        self._cond = threading.Condition()
        self._listener = None
        self._transport = None

    def _record(self, priority, publisher_id, event_type, payload, metadata):
        item = {
            "priority": priority,
            "event_type": event_type,
            "publisher_id": publisher_id,
            "payload": payload,
            "metadata": dict(metadata or {}),
            "instance_id": _instance_id(payload),
        }
        with self._cond:
            self.received.append(item)
            self._cond.notify_all()

    def start(self) -> NotificationListener:
        import oslo_messaging
        from oslo_config import cfg

        recorder = self

        class Endpoint:
            def info(self, ctxt, publisher_id, event_type, payload, metadata):
                recorder._record("info", publisher_id, event_type, payload, metadata)

            def error(self, ctxt, publisher_id, event_type, payload, metadata):
                recorder._record("error", publisher_id, event_type, payload, metadata)

        conf = cfg.ConfigOpts()
        conf([], project="multicloud-sandbox-tests")
        self._transport = oslo_messaging.get_notification_transport(conf, url=self.transport_url)
        targets = [oslo_messaging.Target(topic=t, exchange=self.exchange) for t in self.topics]
        self._listener = oslo_messaging.get_notification_listener(
            self._transport, targets, [Endpoint()], executor="threading", pool=self.pool
        )
        self._listener.start()
        return self

    def events(self, instance_id: str | None = None) -> list[dict]:
        with self._cond:
            return [
                n for n in self.received if instance_id is None or n["instance_id"] == instance_id
            ]

    def wait_for(
        self, event_type: str, instance_id: str | None = None, timeout: float = 30
    ) -> dict:
        """Return the first notification of ``event_type`` (for ``instance_id``)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for n in self.received:
                    if n["event_type"] == event_type and (
                        instance_id is None or n["instance_id"] == instance_id
                    ):
                        return n
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = sorted(
                        {
                            n["event_type"]
                            for n in self.received
                            if instance_id is None or n["instance_id"] == instance_id
                        }
                    )
                    raise AssertionError(
                        f"no {event_type} notification for {instance_id} within {timeout}s; "
                        f"saw {seen}"
                    )
                self._cond.wait(left)

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener.wait()
            self._listener = None
        if self._transport is not None:
            self._transport.cleanup()
            self._transport = None
        self._delete_queue()

    def _delete_queue(self) -> None:
        import kombu

        url = self.transport_url.replace("rabbit://", "amqp://", 1)
        with kombu.Connection(url, connect_timeout=5) as conn:
            channel = conn.channel()
            try:
                channel.queue_delete(self.pool)
            except Exception:  # already gone
                pass


@pytest.fixture(scope="session")
def nova_notifications(sandbox):
    listener = NotificationListener(sandbox.transport_url).start()
    yield listener
    listener.stop()
