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
            "outbox_depth": {"max": max(depths, default=0), "samples": len(depths)},
            "load_average": [load_before, _load()],
        }
    finally:
        listener.ensure_stopped()
        if nova is not None:
            nova.close()
        router.stop()
        drop_broker(broker)
        db.drop()


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
    args = parser.parse_args()
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
