"""Real Nova actions in the sandbox become exactly one event each on the Message Router topic.

``run_listener`` runs as a real process on the sandbox's RabbitMQ (vhost ``osbox``, Nova with
``notification_format=both``) in a pool of its own (deleted afterwards), publishing to the
Message Router double. Also ``check_vim_status`` against the real Nova, in both frameworks.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter

import pytest

from multicloud.vims.models import CloudRegion
from tests.doubles.dmaap_mr import FakeMessageRouter
from tests.integration.rabbit import Broker, Database, ListenerProcess, rabbitmqctl

pytestmark = pytest.mark.sandbox
TOPIC = "unauthenticated.MULTICLOUD_VM_EVENTS"
KINDS = (
    "CREATE,DELETE,SOFT_DELETE,SHUT_DOWN,POWER_OFF,POWER_ON,PAUSE,UNPAUSE,SUSPEND,RESUME,"
    "REBOOT,REBUILD,RESTORE,ERROR"
)


@pytest.fixture
def mr():
    with FakeMessageRouter() as router:
        yield router


@pytest.fixture
def sandbox_listener(sandbox, tmp_path, mr):
    vhost = sandbox.transport_url.rsplit("/", 1)[1]
    user, password = sandbox.transport_url.split("//", 1)[1].split("@", 1)[0].split(":", 1)
    broker = Broker(vhost, user, password)
    db = Database(tmp_path)
    env = ListenerProcess.environment(
        tmp_path,
        db,
        broker,
        mr.url,
        MULTICLOUD_EVENTS_CLOUD_OWNER="osbox",
        MULTICLOUD_EVENTS_CLOUD_REGION_ID=sandbox.region,
        MULTICLOUD_EVENTS_POOL=f"multicloud-events-test-{uuid.uuid4().hex[:10]}",
        MULTICLOUD_EVENTS_DEFAULT_STATES=KINDS,
        MULTICLOUD_EVENTS_PHASES="END,ERROR",
    )
    process = ListenerProcess(env, tmp_path / "listener.log")
    process.migrate()
    process.start(broker)
    yield process
    process.ensure_stopped()
    rabbitmqctl("delete_queue", "-p", vhost, env["MULTICLOUD_EVENTS_POOL"], check=False)
    db.drop()


def kinds_of(mr, instance_id: str) -> Counter:
    return Counter(m["kind"] for m in mr.messages(TOPIC) if m.get("instance_id") == instance_id)


def wait_kind(mr, instance_id: str, kind: str, count: int = 1, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while kinds_of(mr, instance_id)[kind] < count:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no {kind} event for {instance_id} in {timeout}s; got "
                f"{dict(kinds_of(mr, instance_id))}"
            )
        time.sleep(0.2)


@pytest.mark.timeout(400)
def test_every_vm_action_arrives_once_on_the_topic(servers, sandbox_listener, mr):
    server = servers.boot()
    sid = server["id"]
    wait_kind(mr, sid, "CREATE")
    steps = [
        ("pause", None, "PAUSED", "PAUSE"),
        ("unpause", None, "ACTIVE", "UNPAUSE"),
        ("os-stop", None, "SHUTOFF", "POWER_OFF"),
        ("os-start", None, "ACTIVE", "POWER_ON"),
        ("reboot", {"type": "SOFT"}, "ACTIVE", "REBOOT"),
        ("rebuild", {"imageRef": servers.image_id("fake-image")}, "ACTIVE", "REBUILD"),
        ("suspend", None, "SUSPENDED", "SUSPEND"),
        ("resume", None, "ACTIVE", "RESUME"),
    ]
    for action, value, status, kind in steps:
        servers.action(sid, action, value)
        servers.wait_for(sid, status=status)
        wait_kind(mr, sid, kind)
    servers._call("DELETE", f"/servers/{sid}")  # reclaim_instance_interval: a soft delete
    servers.wait_for(sid, status="SOFT_DELETED")
    wait_kind(mr, sid, "SOFT_DELETE")
    servers.action(sid, "restore")
    servers.wait_for(sid, status="ACTIVE")
    wait_kind(mr, sid, "RESTORE")
    servers._call("DELETE", f"/servers/{sid}")
    servers.wait_for(sid, status="SOFT_DELETED")
    wait_kind(mr, sid, "SOFT_DELETE", count=2)
    servers.action(sid, "forceDelete")
    servers.wait_gone(sid)
    wait_kind(mr, sid, "DELETE")
    wait_kind(mr, sid, "SHUT_DOWN")
    time.sleep(3)  # anything late or duplicated would show up now
    expected = {kind: 1 for *_, kind in steps}
    expected.update(CREATE=1, SOFT_DELETE=2, RESTORE=1, DELETE=1, SHUT_DOWN=1)
    assert dict(kinds_of(mr, sid)) == expected
    messages = [m for m in mr.messages(TOPIC) if m.get("instance_id") == sid]
    assert len({m["message_id"] for m in messages}) == len(messages)
    assert all(m["source_format"] == "LEGACY" and m["phase"] == "END" for m in messages)
    assert all(
        m["vim_id"] == f"osbox_{servers.filter.get('region_name', 'RegionOne')}" for m in messages
    )
    wire = json.dumps(messages)
    assert "_context" not in wire and "auth_token" not in wire
    assert sandbox_listener.terminate() == 0


@pytest.fixture
def registered(sandbox, db):
    region = CloudRegion(
        cloud_owner="osbox",
        cloud_region_id=sandbox.region,
        cloud_type="openstack",
        identity_url=sandbox.auth_url,
        username=sandbox.admin.username,
        default_tenant=sandbox.admin.project_name,
        openstack_region_id=sandbox.region,
    )
    region.password = sandbox.admin.password
    region.save()
    return region


@pytest.mark.timeout(200)
def test_check_vim_status_polls_real_nova_in_every_project(
    api, servers, registered, sandbox, demo_session
):
    from tests.sandbox import ServerHelper

    demo = ServerHelper(demo_session, sandbox.region)
    try:
        paused = demo.boot()
        demo.action(paused["id"], "pause")
        demo.wait_for(paused["id"], status="PAUSED")
        active = servers.boot()
        path = f"/api/multicloud/v1/osbox/{sandbox.region}/check_vim_status"
        answer = api.request("POST", path, json.dumps({"states": ["PAUSE"]}).encode())
        assert answer.status == 200, answer.body
        found = {s["id"]: s for s in answer.json()["servers"]}
        assert paused["id"] in found and active["id"] not in found
        vm = found[paused["id"]]
        assert vm["state"] == "paused" and vm["state_description"] == ""
        assert vm["tenant_id"] == demo_session.get_project_id()
        assert vm["launched_at"] and vm["name"] == paused["name"]
    finally:
        demo.cleanup()


REGISTER_SANDBOX = """
from multicloud.vims.models import CloudRegion
r = CloudRegion(cloud_owner="osbox", cloud_region_id={region!r}, cloud_type="openstack",
                identity_url={auth_url!r}, username={user!r}, default_tenant={project!r},
                openstack_region_id={region!r})
r.password = {password!r}
r.save()
"""


def sources_of(mr, instance_id: str) -> Counter:
    return Counter(
        (m["kind"], m.get("source", "listener"))
        for m in mr.messages(TOPIC)
        if m.get("instance_id") == instance_id
    )


def wait_for_log(process, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in process.log():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} in the listener log after {timeout}s")
        time.sleep(0.3)


@pytest.mark.timeout(400)
def test_changes_made_while_the_listener_was_away_are_reconciled_once(
    sandbox, servers, sandbox_listener, mr
):
    listener = sandbox_listener
    vhost = sandbox.transport_url.rsplit("/", 1)[1]
    pool = listener.env["MULTICLOUD_EVENTS_POOL"]
    broker = Broker(vhost, *sandbox.transport_url.split("//", 1)[1].split("@", 1)[0].split(":", 1))
    admin = sandbox.admin
    listener.django(
        REGISTER_SANDBOX.format(
            region=sandbox.region,
            auth_url=sandbox.auth_url,
            user=admin.username,
            project=admin.project_name,
            password=admin.password,
        )
    )
    assert listener.terminate() == 0
    reconcile = ("--reconcile-interval", "1")
    listener.start(broker, args=reconcile)
    wait_for_log(listener, "baseline taken")
    first = servers.boot()
    wait_kind(mr, first["id"], "CREATE")

    # stopped, the pool queue kept: the change arrives from the queue, not from the reconciler
    assert listener.terminate() == 0
    servers.action(first["id"], "pause")
    servers.wait_for(first["id"], status="PAUSED")
    listener.start(broker, args=reconcile)
    wait_kind(mr, first["id"], "PAUSE")

    # stopped and the pool queue gone: nothing will ever deliver these changes
    assert listener.terminate() == 0
    rabbitmqctl("delete_queue", "-p", vhost, pool)
    servers.action(first["id"], "unpause")
    servers.wait_for(first["id"], status="ACTIVE")
    second = servers.boot()
    listener.start(broker, args=reconcile)
    wait_kind(mr, first["id"], "UNPAUSE", timeout=60)
    wait_kind(mr, second["id"], "CREATE", timeout=60)
    time.sleep(5)  # several more reconciliations: nothing may come twice
    assert sources_of(mr, first["id"]) == {
        ("CREATE", "listener"): 1,
        ("PAUSE", "listener"): 1,
        ("UNPAUSE", "reconcile"): 1,
    }
    assert sources_of(mr, second["id"]) == {("CREATE", "reconcile"): 1}
    missed = next(m for m in mr.messages(TOPIC) if m.get("source") == "reconcile")
    assert missed["vim_id"] == f"osbox_{sandbox.region}" and missed["timestamp"].endswith("Z")
    assert listener.terminate() == 0
