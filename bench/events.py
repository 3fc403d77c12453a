"""Event federation benchmark: Nova notifier -> RabbitMQ -> run_listener -> outbox -> MR.

    .venv/bin/python -m bench.events [--count 5000] [--rate 0] [--database-url URL]
    .venv/bin/python -m bench.events --baseline [--count 20000] [--database-url URL]

Plays Nova with an oslo.messaging Notifier (the captured notifications, both formats, every
notification a new message id) on a throwaway vhost of the real RabbitMQ at 127.0.0.1:5672,
runs ``python manage.py run_listener`` as a real process (SQLite by default) and receives the
events on the in-process DMaaP Message Router double, which stamps each message on arrival.

Reports events/s end to end (events published / time from the first send to the last
arrival) and the latency from Nova's notification timestamp to MR receipt (p50/p99/max).
``--rate 0`` sends as fast as the notifier can (a burst: latency then measures the queue);
``--rate N`` paces N notifications/s (latency of a steady flow); the outbox depth (pending
deliveries) is sampled every second to show whether the publisher keeps pace.

``--regions 1,10,100`` measures the cost of regions: one ``run_listener`` serving N regions,
each on its own vhost of the machine's RabbitMQ (registered regions with their own transport
URL and pool): threads, RSS, RabbitMQ connections (and PostgreSQL connections) and idle CPU
once every region listens, then the drain rate with every region active (``--count`` per
region queued while the listener was stopped).

``--baseline`` measures draining a queue that already holds ``--count`` notifications, side by
side: first a bare oslo.messaging batch-less notification listener (same exchange, topics, pool
and thread count, threading executor, acknowledging without doing anything), then
``run_listener`` on the same notifications published again (into the outbox and on to the MR
double). Both rates are notifications/s from the first to the last one handled (the bare
listener) or arrived on MR (``run_listener``), so process start-up is not counted. Loopback
only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from tests.doubles.dmaap_mr import FakeMessageRouter
from tests.integration.rabbit import (
    Broker,
    Database,
    ListenerProcess,
    Nova,
    expected_seqs,
    rabbitmqctl,
    seq_corpus,
)

TOPIC = "unauthenticated.MULTICLOUD_VM_EVENTS"


class TimedRouter(FakeMessageRouter):
    """The MR double, noting when each message arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[tuple[float, str]] = []
        self._arrival_lock = threading.Lock()

    def _store(self, topic, records):  # noqa: ANN001 (double's private hook)
        now = time.time()
        super()._store(topic, records)
        with self._arrival_lock:
            self.arrivals.extend((now, record.text) for record in records)

    def count(self) -> int:
        with self._arrival_lock:
            return len(self.arrivals)


def make_broker() -> Broker:
    tag = uuid.uuid4().hex[:10]
    broker = Broker(f"mc-bench-{tag}", f"mc-bench-{tag}", uuid.uuid4().hex)
    rabbitmqctl("add_vhost", broker.vhost)
    rabbitmqctl("add_user", broker.listener_user, broker.listener_password)
    for user in ("guest", broker.listener_user):
        rabbitmqctl("set_permissions", "-p", broker.vhost, user, ".*", ".*", ".*")
    return broker


def drop_broker(broker: Broker) -> None:
    rabbitmqctl("delete_vhost", broker.vhost, check=False)
    rabbitmqctl("delete_user", broker.listener_user, check=False)


def send(nova: Nova, items: list[dict], rate: float) -> float:
    started = time.monotonic()
    for index, item in enumerate(items):
        if rate > 0:
            delay = started + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        nova.send(item)
    return time.monotonic() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(count: int, rate: float, database_url: str | None, threads: int, batch: int) -> dict:
    import os

    _use_database(os, database_url)
    tmp = Path(tempfile.mkdtemp(prefix="mc-bench-events-"))
    broker = make_broker()
    router = TimedRouter().start()
    db = Database(tmp)
    depths: list[int] = []
    stop_sampling = threading.Event()
    listener = ListenerProcess(
        ListenerProcess.environment(
            tmp,
            db,
            broker,
            router.url,
            MULTICLOUD_EVENTS_LISTENER_THREADS=str(threads),
            MULTICLOUD_MR_BATCH_SIZE=str(batch),
            MULTICLOUD_LOG_LEVEL="WARNING",
        ),
        tmp / "listener.log",
    )
    nova = None
    try:
        listener.migrate()
        listener.start(broker)
        nova = Nova(broker.nova_url)
        items = seq_corpus(count)
        expected = len(expected_seqs(items))
        load_before = _load()
        sampler = threading.Thread(
            target=sample_depth, args=(Outbox(db), depths, stop_sampling), daemon=True
        )
        sampler.start()
        first_send = time.time()
        send_seconds = send(nova, items, rate)
        deadline = time.monotonic() + 600
        while router.count() < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        stop_sampling.set()
        with router._arrival_lock:
            arrivals = list(router.arrivals)
        latencies = [arrived - _nova_time(text) for arrived, text in arrivals]
        last = max(arrived for arrived, _ in arrivals)
        listener.terminate()
        return {
            "notifications": count,
            "rate": rate or "burst",
            "events": len(arrivals),
            "expected": expected,
            "database": "postgresql" if db.pg_name else "sqlite",
            "listener_threads": threads,
            "batch": batch,
            "send_s": round(send_seconds, 2),
            "notifications_per_s": round(count / (last - first_send), 1),
            "events_per_s": round(len(arrivals) / (last - first_send), 1),
            "latency_ms": {
                "p50": round(1000 * statistics.median(latencies), 1),
                "p99": round(1000 * percentile(latencies, 0.99), 1),
                "max": round(1000 * max(latencies), 1),
            },
            "outbox_depth": _depth_trend(depths),
            "load_average": [load_before, _load()],
        }
    finally:
        listener.ensure_stopped()
        if nova is not None:
            nova.close()
        router.stop()
        drop_broker(broker)
        db.drop()


def _depth_trend(depths: list[int]) -> dict:
    """Whether the outbox grows during the run: max of each half, and the last sample."""
    half = len(depths) // 2
    return {
        "max": max(depths, default=0),
        "first_half_max": max(depths[:half], default=0),
        "second_half_max": max(depths[half:], default=0),
        "last": depths[-1] if depths else 0,
        "samples": len(depths),
    }


class Outbox:
    """Reads the listener's outbox depth straight from its database (no Django here)."""

    SQL = "SELECT count(*) FROM listener_delivery WHERE status = 'pending'"

    def __init__(self, db: Database):
        self.url = db.url

    def depth(self) -> int:
        if self.url.startswith("sqlite:///"):
            import sqlite3

            with sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=5) as conn:
                return conn.execute(self.SQL).fetchone()[0]
        import psycopg

        with psycopg.connect(self.url.replace("postgresql://", "postgres://", 1)) as conn:
            return conn.execute(self.SQL).fetchone()[0]


def sample_depth(outbox: Outbox, samples: list[int], stop: threading.Event) -> None:
    while not stop.wait(1.0):
        try:
            samples.append(outbox.depth())
        except Exception:  # noqa: BLE001, S112 (the table may not exist for a moment)
            continue


class BareEndpoint:
    """Acknowledges every notification and only counts them (the baseline)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: list[float] = []

    def _note(self, *args) -> str:
        now = time.monotonic()
        with self.lock:
            self.times.append(now)
        return "handled"

    info = error = warn = audit = debug = critical = sample = _note


def bare_listener(broker: Broker, pool: str, threads: int, endpoint: BareEndpoint):
    import oslo_messaging

    from listener.transport import oslo_config

    conf = oslo_config(prefetch=threads * 8)
    transport = oslo_messaging.get_notification_transport(conf, url=broker.listener_url)
    listener = oslo_messaging.get_notification_listener(
        transport,
        [
            oslo_messaging.Target(topic=t, exchange="nova")
            for t in ("notifications", "versioned_notifications")
        ],
        [endpoint],
        executor="threading",
        allow_requeue=True,
        pool=pool,
    )
    return transport, listener


def run_bare(count: int, threads: int) -> dict:
    """Drain ``count`` queued notifications with the bare listener; notifications/s."""
    broker = make_broker()
    pool = f"bench-bare-{broker.vhost}"
    endpoint = BareEndpoint()
    transport, listener = bare_listener(broker, pool, threads, endpoint)
    nova = Nova(broker.nova_url)
    try:
        listener.start(override_pool_size=threads)  # declares the pool's queues
        listener.stop()
        listener.wait()
        send(nova, seq_corpus(count), 0)
        transport.cleanup()
        transport, listener = bare_listener(broker, pool, threads, endpoint)
        listener.start(override_pool_size=threads)
        deadline = time.monotonic() + 600
        while len(endpoint.times) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        listener.stop()
        listener.wait()
        span = endpoint.times[-1] - endpoint.times[0]
        return {"handled": len(endpoint.times), "notifications_per_s": round(count / span, 1)}
    finally:
        nova.close()
        transport.cleanup()
        drop_broker(broker)


def run_queued(count: int, database_url: str | None, threads: int, batch: int) -> dict:
    """Drain ``count`` queued notifications with run_listener into MR; notifications/s."""
    import os

    _use_database(os, database_url)
    tmp = Path(tempfile.mkdtemp(prefix="mc-bench-events-"))
    broker = make_broker()
    router = TimedRouter().start()
    db = Database(tmp)
    env = ListenerProcess.environment(
        tmp,
        db,
        broker,
        router.url,
        MULTICLOUD_EVENTS_LISTENER_THREADS=str(threads),
        MULTICLOUD_MR_BATCH_SIZE=str(batch),
        MULTICLOUD_LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
    )
    listener = ListenerProcess(env, tmp / "listener.log")
    nova = Nova(broker.nova_url)
    try:
        listener.migrate()
        listener.start(broker)  # declares the pool's queues
        listener.terminate()
        items = seq_corpus(count)
        expected = len(expected_seqs(items))
        send(nova, items, 0)
        listener.start(broker)
        deadline = time.monotonic() + 900
        while router.count() < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        with router._arrival_lock:
            stamps = [arrived for arrived, _ in router.arrivals]
        seqs = [json.loads(text).get("metadata", {}).get("mc_seq") for _, text in router.arrivals]
        listener.terminate()
        span = max(stamps) - min(stamps)
        return {
            "events": len(stamps),
            "expected": expected,
            "duplicates": len(seqs) - len(set(seqs)),
            "database": "postgresql" if db.pg_name else "sqlite",
            "notifications_per_s": round(count / span, 1),
        }
    finally:
        listener.ensure_stopped()
        nova.close()
        router.stop()
        drop_broker(broker)
        db.drop()


def baseline(count: int, database_url: str | None, threads: int, batch: int) -> dict:
    load_before = _load()
    bare = run_bare(count, threads)
    ours = run_queued(count, database_url, threads, batch)
    return {
        "notifications": count,
        "bare": bare,
        "run_listener": ours,
        "ratio": round(ours["notifications_per_s"] / bare["notifications_per_s"], 2),
        "load_average": [load_before, _load()],
    }


REGISTER_MANY = """
from multicloud.vims.models import CloudRegion
for i, url in enumerate({urls!r}):
    r = CloudRegion(cloud_owner="bench", cloud_region_id=f"R{{i}}", cloud_type="openstack",
                    identity_url="http://127.0.0.1:1/v3", username="u", default_tenant="t",
                    notification_pool=f"pool-{{i}}")
    r.password = "p"
    r.notification_transport_url = url
    r.save()
"""


def make_vhosts(count: int) -> tuple[Broker, list[str]]:
    """``count`` vhosts and one listener user, in one rabbitmqctl call."""
    tag = uuid.uuid4().hex[:8]
    user, password = f"mc-bench-{tag}", uuid.uuid4().hex
    vhosts = [f"mc-bench-{tag}-{i}" for i in range(count)]
    definitions = {
        "users": [{"name": user, "password": password, "tags": ""}],
        "vhosts": [{"name": v} for v in vhosts],
        "permissions": [
            {"user": who, "vhost": v, "configure": ".*", "write": ".*", "read": ".*"}
            for v in vhosts
            for who in (user, "guest")
        ],
    }
    # NOTE: rabbitmqctl reads the file as the broker's user: a private temp dir is not readable.
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(definitions, handle)
    path = Path(handle.name)
    try:
        path.chmod(0o644)
        rabbitmqctl("import_definitions", str(path))
    finally:
        path.unlink()
    return Broker(vhosts[0], user, password), vhosts


def drop_vhosts(broker: Broker, vhosts: list[str]) -> None:
    names = ",".join(f'<<"{v}">>' for v in vhosts)
    rabbitmqctl(
        "eval",
        f'lists:foreach(fun(V) -> rabbit_vhost:delete(V, <<"bench">>) end, [{names}]).',
        check=False,
    )
    rabbitmqctl("delete_user", broker.listener_user, check=False)


def _proc(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return {
        "threads": int(fields["Threads"].strip()),
        "rss_mb": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
        "cpu_s": (int(stat[11]) + int(stat[12])) / ticks,
    }


def _proc_tree(pid: int) -> dict:
    """:func:`_proc` summed over run_listener and its children (its publisher process)."""
    total = _proc(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else []:
        try:
            found = _proc(int(child))
        except (FileNotFoundError, ProcessLookupError):
            continue
        total = {k: total[k] + found[k] for k in total}
    total["rss_mb"] = round(total["rss_mb"], 1)
    return total


def _connections(user: str) -> int:
    rows = rabbitmqctl("list_connections", "user").split()
    return sum(1 for name in rows if name == user)


def _pg_connections(db: Database) -> int | None:
    if not db.pg_name:
        return None
    import psycopg

    with psycopg.connect(db.admin_url.replace("postgresql://", "postgres://", 1)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [db.pg_name]
        ).fetchone()
        return int(row[0])


def run_regions(count: int, per_region: int, database_url: str | None, idle_seconds: float) -> dict:
    """One run_listener serving ``count`` regions: its cost idle, then its drain rate."""
    _use_database(os, database_url)
    tmp = Path(tempfile.mkdtemp(prefix="mc-bench-regions-"))
    broker, vhosts = make_vhosts(count)
    router = TimedRouter().start()
    db = Database(tmp)
    env = ListenerProcess.environment(tmp, db, broker, router.url, MULTICLOUD_LOG_LEVEL="INFO")
    del env["MULTICLOUD_EVENTS_TRANSPORT_URL"]
    host = "127.0.0.1:5672"
    urls = [
        f"rabbit://{broker.listener_user}:{broker.listener_password}@{host}/{v}" for v in vhosts
    ]
    listener = ListenerProcess(env, tmp / "listener.log")
    try:
        listener.migrate()
        listener.django(REGISTER_MANY.format(urls=urls))
        listener.start(broker, pool="pool-0", timeout=300)
        _wait_listening(listener, count)
        time.sleep(5)  # settle
        before = _proc_tree(listener.proc.pid)
        time.sleep(idle_seconds)
        after = _proc_tree(listener.proc.pid)
        idle = {
            "regions": count,
            "threads": after["threads"],
            "rss_mb": after["rss_mb"],
            "idle_cpu_percent": round(100 * (after["cpu_s"] - before["cpu_s"]) / idle_seconds, 1),
            "rabbitmq_connections": _connections(broker.listener_user),
            "postgresql_connections": _pg_connections(db),
        }
        listener.terminate(timeout=60)
        expected = 0
        for vhost in vhosts:
            nova = Nova(f"rabbit://guest:guest@{host}/{vhost}")
            items = seq_corpus(per_region)
            send(nova, items, 0)
            nova.close()
            expected += len(expected_seqs(items))
        load_before = _load()
        listener.start(broker, pool="pool-0", timeout=300)
        deadline = time.monotonic() + 900
        while router.count() < expected and time.monotonic() < deadline:
            time.sleep(0.1)
        with router._arrival_lock:
            stamps = [arrived for arrived, _ in router.arrivals]
        busy = _proc_tree(listener.proc.pid)
        listener.terminate(timeout=60)
        span = max(stamps) - min(stamps) if stamps else float("nan")
        return {
            **idle,
            "database": "postgresql" if db.pg_name else "sqlite",
            "drain": {
                "notifications": per_region * count,
                "events": len(stamps),
                "expected": expected,
                "notifications_per_s": round(per_region * count / span, 1),
                "threads_busy": busy["threads"],
                "rss_mb_busy": busy["rss_mb"],
            },
            "load_average": [load_before, _load()],
        }
    finally:
        listener.ensure_stopped()
        router.stop()
        drop_vhosts(broker, vhosts)
        db.drop()


def _wait_listening(listener: ListenerProcess, count: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while listener.log().count("listening to bench_R") < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"not every region listens after {timeout}s")
        time.sleep(1)


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _use_database(os, database_url: str | None) -> None:  # noqa: ANN001 (the os module)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)


def _nova_time(text: str) -> float:
    stamp = json.loads(text)["timestamp"]
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=0.0, help="notifications/s (0: burst)")
    parser.add_argument("--database-url", default=None, help="default: a SQLite file")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--baseline", action="store_true", help="bare listener vs run_listener")
    parser.add_argument("--regions", default="", help="e.g. 1,10,100: cost per region count")
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    args = parser.parse_args()
    if args.regions:
        for count in (int(n) for n in args.regions.split(",")):
            result = run_regions(count, args.count, args.database_url, args.idle_seconds)
            print(json.dumps(result), flush=True)
        return 0
    if args.baseline:
        result = baseline(args.count, args.database_url, args.threads, args.batch)
        print(json.dumps(result))
        ours = result["run_listener"]
        return 0 if ours["events"] >= ours["expected"] else 1
    result = run(args.count, args.rate, args.database_url, args.threads, args.batch)
    print(json.dumps(result))
    return 0 if result["events"] >= result["expected"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
