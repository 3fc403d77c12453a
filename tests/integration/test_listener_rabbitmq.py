"""run_listener against real RabbitMQ and the Message Router double: nothing lost, ever.

Each test gets its own vhost (deleted afterwards), plays Nova with an oslo.messaging
Notifier sending the captured notifications (both formats, 10,000 or fewer), runs
``manage.py run_listener`` as a real process and checks what reached the MR double.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter

import pytest

from tests.doubles.dmaap_mr import FakeMessageRouter
from tests.doubles.ves_collector import FakeVesCollector
from tests.integration.rabbit import (
    Database,
    ListenerProcess,
    Nova,
    expected_seqs,
    published_seqs,
    rabbitmqctl,
    send_in_background,
    seq_corpus,
    wait_until,
)

TOPIC = "unauthenticated.MULTICLOUD_VM_EVENTS"


@pytest.fixture
def mr():
    with FakeMessageRouter() as router:
        yield router


@pytest.fixture
def listener(tmp_path, broker, mr):
    db = Database(tmp_path)
    process = ListenerProcess(
        ListenerProcess.environment(tmp_path, db, broker, mr.url), tmp_path / "listener.log"
    )
    process.migrate()
    process.db = db
    yield process
    process.ensure_stopped()
    db.drop()


@pytest.fixture
def nova(broker):
    sender = Nova(broker.nova_url)
    yield sender
    sender.close()


def assert_exactly_once(mr, expected: set[str], listener) -> None:
    got = published_seqs(mr.messages(TOPIC))
    duplicates = [seq for seq, n in Counter(got).items() if n > 1]
    assert not duplicates, f"{len(duplicates)} duplicated"
    assert set(got) == expected, f"lost {len(expected - set(got))}"
    assert_no_errors_of_ours(listener.log())


def assert_no_errors_of_ours(log: str) -> None:
    # NOTE: oslo.messaging logs "ignoring duplicate message" with a traceback when the
    # broker redelivers a message it had already handed over: that is its own dedup.
    ours = [
        line
        for line in log.splitlines()
        if re.search(r" (ERROR|CRITICAL) (listener|multicloud|django)", line)
    ]
    assert not ours, ours


def arrived(mr, expected: set[str]):
    return lambda: expected <= set(published_seqs(mr.messages(TOPIC)))


@pytest.mark.timeout(300)
def test_10000_notifications_with_message_router_down_for_a_while_arrive_exactly_once(
    broker,
    listener,
    nova,
    mr,
):
    items = seq_corpus(10_000)
    expected = expected_seqs(items)
    listener.start(broker)
    mr.down()
    started = time.monotonic()
    assert nova.send_all(items) == 10_000
    sent_in = time.monotonic() - started
    time.sleep(3)  # MR stays down a while after the burst
    assert mr.messages(TOPIC) == []
    mr.up()
    wait_until(arrived(mr, expected), 180, f"{len(expected)} events on MR")
    assert listener.terminate() == 0
    assert_exactly_once(mr, expected, listener)
    queue = broker.queue(listener.env["MULTICLOUD_EVENTS_POOL"])
    assert queue is not None and queue[0] == 0  # everything acknowledged
    print(
        f"\n10,000 notifications sent in {sent_in:.1f}s; {len(expected)} events published "
        f"exactly once after MR came back"
    )


CLAIMED = """
import json
from multicloud.events.models import Delivery
rows = Delivery.objects.filter(status="pending").exclude(claimed_by="").select_related("event")
print(json.dumps([[d.event.message["metadata"]["mc_seq"], d.event.message["timestamp"]]
                  for d in rows]))
"""
#: A replacement must publish what the killed publisher had claimed within this many seconds
#: of being started (it used to wait for the lease to run out: a minute).
RECOVERY_BOUND = 10.0


@pytest.mark.timeout(300)
def test_a_kill_9_of_the_listener_mid_stream_loses_nothing(broker, listener, nova, mr):
    items = seq_corpus(4000)
    expected = expected_seqs(items)
    listener.start(broker)
    sender = send_in_background(nova, items)
    wait_until(lambda: len(mr.messages(TOPIC)) > 50, 60, "the first events")
    mr.slow(1.0)  # NOTE: so a publish is surely in flight, its rows claimed, at the kill
    time.sleep(0.5)
    listener.kill9()
    mr.slow(0)
    sender.join(120)
    claimed = json.loads(listener.django(CLAIMED).strip().splitlines()[-1])
    assert claimed, "nothing was claimed when the publisher died"
    seqs = {seq for seq, _ in claimed}
    before = len(mr.messages(TOPIC))
    started = time.monotonic()
    listener.start(broker)
    wait_until(
        lambda: seqs <= set(published_seqs(mr.messages(TOPIC)[before:])),
        60,
        "the dead publisher's claimed events",
        interval=0.1,
    )
    recovered_in = time.monotonic() - started
    wait_until(arrived(mr, expected), 180, f"{len(expected)} events after the restart")
    last_in = time.monotonic() - started
    assert listener.terminate() == 0
    got = published_seqs(mr.messages(TOPIC))
    assert set(got) == expected
    # Nova order per region and topic holds across the failover: the rows the dead
    # publisher had claimed go out before any newer event.
    after = mr.messages(TOPIC)[before:]
    newest = max(stamp for _, stamp in claimed)
    last_claimed = max(i for i, m in enumerate(after) if m["metadata"]["mc_seq"] in seqs)
    first_newer = min((i for i, m in enumerate(after) if m["timestamp"] > newest), default=None)
    assert first_newer is None or last_claimed < first_newer
    print(
        f"\nkill -9: {len(expected)} events, {len(got) - len(set(got))} duplicated on MR; "
        f"{len(claimed)} claimed rows republished {recovered_in:.1f}s after the restart, "
        f"the last event {last_in:.1f}s after it"
    )
    assert recovered_in < RECOVERY_BOUND
    # NOTE: a publish in flight when the process died may be sent again (at-least-once
    # towards MR; consumers dedup on message_id) but never more than one batch.
    assert len(got) - len(set(got)) <= 100


@pytest.mark.timeout(300)
def test_a_dropped_rabbitmq_connection_loses_nothing(broker, listener, nova, mr):
    items = seq_corpus(4000)
    expected = expected_seqs(items)
    listener.start(broker)
    sender = send_in_background(nova, items)
    wait_until(lambda: len(mr.messages(TOPIC)) > 50, 60, "the first events")
    broker.drop_listener_connections()
    sender.join(120)
    wait_until(arrived(mr, expected), 180, f"{len(expected)} events after the reconnect")
    # NOTE: redeliveries of notifications already stored are acknowledged too (they used
    # to be left unacknowledged, holding prefetch slots, until the listener stopped).
    pool = listener.env["MULTICLOUD_EVENTS_POOL"]
    wait_until(lambda: broker.queue(pool)[0] == 0, 30, "every delivery acknowledged")
    assert listener.terminate() == 0
    assert_exactly_once(mr, expected, listener)
    assert "ignoring duplicate message" not in listener.log()


@pytest.mark.timeout(200)
def test_sigterm_stops_consuming_and_exits_cleanly(broker, listener, nova, mr):
    listener.start(broker)
    items = seq_corpus(200)
    nova.send_all(items)
    expected = expected_seqs(items)
    wait_until(arrived(mr, expected), 60, "the events")
    assert listener.terminate() == 0
    assert "run_listener: stopping" in listener.log()
    pool = listener.env["MULTICLOUD_EVENTS_POOL"]
    assert broker.queue(pool) == (0, 0)
    # A SIGTERM mid-stream: the deliveries still arriving while the channel closes are
    # requeued by the broker, not logged one by one; a restart gives no false format warning.
    listener.start(broker)
    sender = send_in_background(nova, seq_corpus(1500))
    wait_until(lambda: len(mr.messages(TOPIC)) > len(expected) + 50, 60, "more events")
    assert listener.terminate() == 0
    sender.join(120)
    assert broker.queue(pool)[1] == 0
    log = listener.log()
    assert "during closing channel" not in log
    assert "no event will be published" not in log


@pytest.mark.timeout(300)
def test_two_replicas_in_one_pool_share_the_work_and_publish_each_event_once(
    tmp_path,
    broker,
    listener,
    nova,
    mr,
):
    second = ListenerProcess(dict(listener.env), tmp_path / "listener-2.log")
    try:
        listener.start(broker)
        second.start(broker)
        # NOTE: start() returns once the pool's queue has a consumer, which the first
        # replica already is: wait for the second's too, or a fast first replica drains
        # every notification before the second consumes (seen in CI).
        pool = listener.env["MULTICLOUD_EVENTS_POOL"]
        wait_until(lambda: (broker.queue(pool) or (0, 0))[1] >= 2, 60, "both replicas consuming")
        items = seq_corpus(4000)
        expected = expected_seqs(items)
        nova.send_all(items)
        wait_until(arrived(mr, expected), 180, f"{len(expected)} events from two replicas")
        assert listener.terminate() == 0 and second.terminate() == 0
        assert_exactly_once(mr, expected, listener)
        assert_no_errors_of_ours(second.log())
        # both replicas took a share of the notifications
        # NOTE: since the batch listener (prefetch = threads x batch size), one replica has
        # been seen to get all of one topic's queue (it stored nothing, every notification
        # it got was of the other format): each event still arrives exactly once (above).
        # Which replica stores what is left to the events and scale-out work.
        for log in (listener.log(), second.log()):
            assert re.search(r"'received': [1-9]", log), log[-2000:]
    finally:
        second.ensure_stopped()


def test_no_secret_reaches_the_logs(broker, listener, nova, mr):
    listener.start(broker)
    nova.send_all(seq_corpus(100))
    wait_until(lambda: len(mr.messages(TOPIC)) > 0, 60, "an event")
    assert listener.terminate() == 0
    log = listener.log()
    assert broker.listener_password not in log
    assert "gAAAAA-secret-token" not in log
    assert "gAAAAA-secret-token" not in json.dumps(mr.messages(TOPIC))


REGISTER = """
from multicloud.vims.models import CloudRegion
r = CloudRegion(cloud_owner="owner2", cloud_region_id="Region2", cloud_type="openstack",
                identity_url="http://127.0.0.1:1/v3", username="u", default_tenant="t",
                notification_pool="{pool}")
r.password = "p"
r.notification_transport_url = "{url}"
r.save()
"""


@pytest.mark.timeout(200)
def test_regions_registered_or_removed_at_run_time_are_picked_up(broker, listener, nova, mr):
    del listener.env["MULTICLOUD_EVENTS_TRANSPORT_URL"]
    pool = f"registered-{broker.vhost}"

    # NOTE: registered while run_listener already runs; start() waits for the pool's consumer.
    def register_once_running() -> None:
        wait_until(
            lambda: listener.log_path.exists() and "no cloud region" in listener.log(),
            60,
            "run_listener to start without regions",
        )
        listener.django(REGISTER.format(pool=pool, url=broker.listener_url))

    register = threading.Thread(target=register_once_running, daemon=True)
    register.start()
    listener.start(broker, pool=pool, args=("--refresh-interval", "1"))
    register.join()
    assert "no cloud region to listen to yet" in listener.log()
    items = seq_corpus(300)
    nova.send_all(items)
    wait_until(arrived(mr, expected_seqs(items)), 60, "events of the registered region")
    assert {m["vim_id"] for m in mr.messages(TOPIC)} == {"owner2_Region2"}
    listener.django(
        "from multicloud.vims.models import CloudRegion; CloudRegion.objects.all().delete()"
    )
    wait_until(lambda: broker.queue(pool) == (0, 0), 30, "the listener to stop consuming")
    assert listener.terminate() == 0
    assert "stopped listening to owner2_Region2" in listener.log()


@pytest.mark.timeout(300)
def test_notifications_are_requeued_not_lost_while_the_database_is_down(broker, listener, nova, mr):
    if not listener.db.pg_name:
        pytest.skip(
            "needs PostgreSQL (make test runs it in its PostgreSQL pass when "
            "TEST_DATABASE_URL is set): SQLite cannot be taken down under a running process"
        )
    items = seq_corpus(3000)
    expected = expected_seqs(items)
    listener.start(broker)
    # NOTE: the second part is sent while the database is down, however fast the
    # listener drained the first: it must be requeued, not lost.
    sender = send_in_background(nova, items[:1000])
    wait_until(lambda: len(mr.messages(TOPIC)) > 50, 60, "the first events")
    listener.db.go_down()
    sender.join(120)
    sender = send_in_background(nova, items[1000:])
    time.sleep(8)
    listener.db.come_back()
    sender.join(120)
    wait_until(arrived(mr, expected), 180, f"{len(expected)} events after the database came back")
    assert listener.terminate() == 0
    assert "requeueing them after" in listener.log()
    got = published_seqs(mr.messages(TOPIC))
    assert set(got) == expected
    print(f"\n{len(expected)} events, {len(got) - len(set(got))} duplicated on MR")
    assert len(got) == len(set(got))


@pytest.mark.timeout(200)
def test_durable_quorum_queues_like_the_cloud_uses_work_the_same(broker, listener, mr):
    listener.env.update(
        MULTICLOUD_EVENTS_RABBIT_DURABLE="true", MULTICLOUD_EVENTS_RABBIT_QUORUM="true"
    )
    listener.start(broker)
    sender = Nova(broker.nova_url, durable=True, quorum=True)
    try:
        items = seq_corpus(500)
        sender.send_all(items)
        expected = expected_seqs(items)
        wait_until(arrived(mr, expected), 90, "the events")
    finally:
        sender.close()
    assert listener.terminate() == 0
    assert_exactly_once(mr, expected, listener)
    queues = rabbitmqctl("list_queues", "-p", broker.vhost, "name", "type", "durable")
    assert f"{listener.env['MULTICLOUD_EVENTS_POOL']}\tquorum\ttrue" in queues


VES_STATES = ["PAUSE", "UNPAUSE", "POWER_OFF", "POWER_ON"]


@pytest.mark.timeout(120)
def test_https_and_basic_auth_towards_message_router_and_the_ves_collector_from_configuration(
    tmp_path,
    broker,
    listener,
    nova,
):
    secure = FakeMessageRouter(tls=True, basic_auth=("multicloud", "mr-s3cret"))
    with secure, FakeVesCollector(tls=True, basic_auth=("dcae", "ves-s3cret")) as ves:
        (tmp_path / "mr-password").write_text("mr-s3cret\n")
        (tmp_path / "ves-password").write_text("ves-s3cret\n")
        listener.env.update(
            MULTICLOUD_MR_URL=secure.url,
            MULTICLOUD_MR_CA_FILE=secure.ca_file,
            MULTICLOUD_MR_USERNAME="multicloud",
            MULTICLOUD_MR_PASSWORD_FILE=str(tmp_path / "mr-password"),
            MULTICLOUD_VES_URL=ves.url,
            MULTICLOUD_VES_CA_FILE=ves.ca_file,
            MULTICLOUD_VES_USERNAME="dcae",
            MULTICLOUD_VES_PASSWORD_FILE=str(tmp_path / "ves-password"),
        )
        listener.django(
            "from multicloud.events.models import Subscription; Subscription.objects.create("
            f"cloud_owner='osbox', cloud_region_id='RegionOne', sink='ves', topic='ves', "
            f"states={VES_STATES!r})"
        )
        listener.start(broker)
        items = seq_corpus(200)
        nova.send_all(items)
        expected = expected_seqs(items)
        wait_until(arrived(secure, expected), 60, "the events over HTTPS")
        wanted = {m["message_id"] for m in secure.messages(TOPIC) if m["kind"] in VES_STATES}
        assert wanted
        wait_until(
            lambda: {e["commonEventHeader"]["eventId"] for e in ves.events()} >= wanted,
            60,
            "the VES events",
        )
        assert listener.terminate() == 0
        assert_exactly_once(secure, expected, listener)
        # every one schema-checked by the double, each once
        ids = [e["commonEventHeader"]["eventId"] for e in ves.events()]
        assert sorted(ids) == sorted(wanted)
        assert {e["commonEventHeader"]["reportingEntityName"] for e in ves.events()} == {
            "multicloud"
        }
        log = listener.log()
        assert "mr-s3cret" not in log and "ves-s3cret" not in log


# ----------------------------------------------------------------- isolation


def register(listener, owner: str, region: str, url: str, pool: str) -> None:
    """A registration stored as it is (an older release did not check the URL)."""
    listener.django(
        REGISTER.replace('"owner2"', f'"{owner}"')
        .replace('"Region2"', f'"{region}"')
        .format(pool=pool, url=url)
    )


@pytest.mark.timeout(200)
def test_a_refused_topic_beside_a_good_one_holds_back_nothing_and_is_dead_lettered(
    broker,
    listener,
    nova,
    mr,
):
    bad = "unauthenticated.REFUSED"
    listener.env["MULTICLOUD_MR_MAX_ATTEMPTS"] = "3"
    listener.django(
        "from multicloud.events.models import Subscription; Subscription.objects.create("
        f"cloud_owner='osbox', cloud_region_id='RegionOne', topic='{bad}', "
        "states=['CREATE','DELETE','PAUSE','UNPAUSE','POWER_OFF','POWER_ON','SHUT_DOWN','UPDATE'])"
    )
    mr.fail_topic(bad, 404)
    listener.start(broker)
    items = seq_corpus(600)
    expected = expected_seqs(items)
    started = time.monotonic()
    nova.send_all(items)
    wait_until(arrived(mr, expected), 30, "every event on the good topic")
    took = time.monotonic() - started
    wait_until(
        lambda: "gave up after 3 attempts" in listener.log(), 60, "the refused topic dead-lettered"
    )
    assert listener.terminate() == 0
    assert mr.messages(bad) == []
    assert listener.log().count(f"topic {bad}: HTTP 404") == 1  # once per state change
    print(f"\n{len(expected)} events on the good topic {took:.1f}s after the first was sent")


DOWN_PORT_CODE = (
    "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
)


@pytest.mark.timeout(200)
def test_an_amqp_and_an_unreachable_region_beside_a_good_one_block_nothing(
    broker,
    listener,
    nova,
    mr,
):
    import subprocess
    import sys

    closed = subprocess.run(
        [sys.executable, "-c", DOWN_PORT_CODE], capture_output=True, text=True, check=True
    ).stdout.strip()
    register(listener, "owner2", "Amqp", "amqp://u:s3cret@127.0.0.1:5672/x", "p-amqp")
    register(listener, "owner3", "Down", f"rabbit://u:s3cret@127.0.0.1:{closed}/x", "p-down")
    listener.start(broker)
    items = seq_corpus(300)
    nova.send_all(items)
    wait_until(arrived(mr, expected_seqs(items)), 60, "the good region's events")
    time.sleep(4)  # a few retries of the unreachable region
    started = time.monotonic()
    assert listener.terminate(timeout=20) == 0
    stopped_in = time.monotonic() - started
    log = listener.log()
    assert log.count("region owner2_Amqp: refused: transport URL names driver 'amqp'") == 1
    assert log.count("region owner3_Down: unreachable") == 1
    assert "s3cret" not in log
    assert {m["vim_id"] for m in mr.messages(TOPIC)} == {"osbox_RegionOne"}
    assert stopped_in < 12
    print(f"\nSIGTERM to exit: {stopped_in:.1f}s")


POISON = """
import json
from multicloud.events.models import InboundDeadLetter
print(json.dumps(sorted(InboundDeadLetter.objects.values_list("reason", flat=True))))
"""


@pytest.mark.timeout(200)
def test_each_kind_of_poison_is_parked_once_and_the_rest_flows(broker, listener, nova, mr):
    good = seq_corpus(200)
    template = next(i for i in good if i["event_type"] == "compute.instance.pause.end")
    nested: dict = {}
    for _ in range(600):
        nested = {"x": nested}
    poisons = [
        {**template, "payload": {**template["payload"], "metadata": nested}},
        {**template, "payload": {**template["payload"], "memory_mb": float("nan")}},
        {**template, "payload": {**template["payload"], "display_name": "vm\x00one"}},
    ]
    listener.start(broker)
    nova.send_all(good[:100] + poisons + good[100:])
    wait_until(arrived(mr, expected_seqs(good)), 60, "the good events")
    wait_until(
        lambda: len(json.loads(listener.django(POISON).strip().splitlines()[-1])) >= 3,
        30,
        "three parked",
    )
    assert listener.terminate() == 0
    reasons = json.loads(listener.django(POISON).strip().splitlines()[-1])
    assert len(reasons) == 3, reasons
    assert any("RecursionError" in r for r in reasons)
    assert any("NaN" in r for r in reasons) and any("u0000" in r for r in reasons)
    queue = broker.queue(listener.env["MULTICLOUD_EVENTS_POOL"])
    assert queue == (0, 0)  # all acknowledged, nothing requeued for ever
