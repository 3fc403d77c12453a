"""Event federation benchmark: Nova notifier -> RabbitMQ -> run_listener -> outbox -> MR.

    .venv/bin/python bench/events.py [--count 5000] [--rate 0] [--database-url URL]

Plays Nova with an oslo.messaging Notifier (the captured notifications, both formats, every
notification a new message id) on a throwaway vhost of the real RabbitMQ at 127.0.0.1:5672,
runs ``python manage.py run_listener`` as a real process (SQLite by default) and receives the
events on the in-process DMaaP Message Router double, which stamps each message on arrival.

Reports events/s end to end (events published / time from the first send to the last
arrival) and the latency from Nova's notification timestamp to MR receipt (p50/p99/max).
``--rate 0`` sends as fast as the notifier can (a burst: latency then measures the queue);
``--rate N`` paces N notifications/s (latency of a steady flow). Loopback only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.doubles.dmaap_mr import FakeMessageRouter  # noqa: E402
from tests.integration.rabbit import (  # noqa: E402
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

    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    tmp = Path(tempfile.mkdtemp(prefix="mc-bench-events-"))
    broker = make_broker()
    router = TimedRouter().start()
    db = Database(tmp)
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
        first_send = time.time()
        send_seconds = send(nova, items, rate)
        deadline = time.monotonic() + 600
        while router.count() < expected and time.monotonic() < deadline:
            time.sleep(0.05)
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
        }
    finally:
        listener.ensure_stopped()
        if nova is not None:
            nova.close()
        router.stop()
        drop_broker(broker)
        db.drop()


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
    args = parser.parse_args()
    result = run(args.count, args.rate, args.database_url, args.threads, args.batch)
    print(json.dumps(result))
    return 0 if result["events"] >= result["expected"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
