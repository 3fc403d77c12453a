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


@pytest.mark.timeout(300)
def test_a_kill_9_of_the_listener_mid_stream_loses_nothing(broker, listener, nova, mr):
    items = seq_corpus(4000)
    expected = expected_seqs(items)
    listener.start(broker)
    sender = send_in_background(nova, items)
    wait_until(lambda: len(mr.messages(TOPIC)) > 50, 60, "the first events")
    listener.kill9()
    sender.join(120)
    listener.start(broker)
    wait_until(arrived(mr, expected), 180, f"{len(expected)} events after the restart")
    assert listener.terminate() == 0
    got = published_seqs(mr.messages(TOPIC))
    assert set(got) == expected
    print(f"\nkill -9: {len(expected)} events, {len(got) - len(set(got))} duplicated on MR")
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
    assert listener.terminate() == 0
    assert_exactly_once(mr, expected, listener)


@pytest.mark.timeout(120)
def test_sigterm_stops_consuming_and_exits_cleanly(broker, listener, nova, mr):
    listener.start(broker)
    items = seq_corpus(200)
    nova.send_all(items)
    expected = expected_seqs(items)
    wait_until(arrived(mr, expected), 60, "the events")
    assert listener.terminate() == 0
    assert "run_listener: stopping" in listener.log()
    queue = broker.queue(listener.env["MULTICLOUD_EVENTS_POOL"])
    assert queue == (0, 0)


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
        items = seq_corpus(4000)
        expected = expected_seqs(items)
        nova.send_all(items)
        wait_until(arrived(mr, expected), 180, f"{len(expected)} events from two replicas")
        assert listener.terminate() == 0 and second.terminate() == 0
        assert_exactly_once(mr, expected, listener)
        assert_no_errors_of_ours(second.log())
        # both replicas took a share of the notifications
        for log in (listener.log(), second.log()):
            assert re.search(r"'stored': [1-9]", log), log[-2000:]
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
    register = threading.Timer(
        3, listener.django, [REGISTER.format(pool=pool, url=broker.listener_url)]
    )
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
    sender = send_in_background(nova, items)
    wait_until(lambda: len(mr.messages(TOPIC)) > 50, 60, "the first events")
    listener.db.go_down()
    time.sleep(8)
    listener.db.come_back()
    sender.join(120)
    wait_until(arrived(mr, expected), 180, f"{len(expected)} events after the database came back")
    assert listener.terminate() == 0
    assert "requeueing it after" in listener.log()
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


@pytest.mark.timeout(120)
def test_https_and_basic_auth_towards_message_router_from_configuration(
    tmp_path,
    broker,
    listener,
    nova,
):
    with FakeMessageRouter(tls=True, basic_auth=("multicloud", "mr-s3cret")) as secure:
        (tmp_path / "mr-password").write_text("mr-s3cret\n")
        listener.env.update(
            MULTICLOUD_MR_URL=secure.url,
            MULTICLOUD_MR_CA_FILE=secure.ca_file,
            MULTICLOUD_MR_USERNAME="multicloud",
            MULTICLOUD_MR_PASSWORD_FILE=str(tmp_path / "mr-password"),
        )
        listener.start(broker)
        items = seq_corpus(200)
        nova.send_all(items)
        expected = expected_seqs(items)
        wait_until(arrived(secure, expected), 60, "the events over HTTPS")
        assert listener.terminate() == 0
        assert_exactly_once(secure, expected, listener)
        assert "mr-s3cret" not in listener.log()
