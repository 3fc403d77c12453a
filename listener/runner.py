"""Wiring of the long-running listener: oslo.messaging listeners plus the publisher thread.

Threads only: oslo.messaging's ``threading`` executor runs the endpoints; Eventlet is never
imported or monkey-patched here (oslo.messaging imports it as a library, unpatched).
``run_listener`` builds a :class:`ListenerService`, calls :meth:`start`, waits for a signal
and calls :meth:`stop`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from listener.consumer import Endpoint, filters_from
from listener.metrics import count_notification
from listener.mr import MessageRouter
from listener.publisher import Counters, Publisher
from listener.regions import ListenTarget
from listener.transport import oslo_config
from multicloud.conf import EventsSettings
from multicloud.events.subscriptions import Router

log = logging.getLogger(__name__)


@dataclass
class _Running:
    target: ListenTarget
    transport: Any
    listener: Any


class ListenerService:
    """One oslo.messaging notification listener per region, one publisher thread.

    :meth:`sync` starts listeners for new regions, restarts those whose transport, topics or
    pool changed and stops those that went away, so the registry can change at run time.
    """

    def __init__(self, settings: EventsSettings, targets: list[ListenTarget], publish: bool = True):
        self.settings = settings
        self.targets = targets
        self.counters = Counters(mirror=count_notification)
        self.router = Router(settings.default_states, settings.default_topic)
        self.filters = filters_from(settings.prefer_format, settings.phases)
        self.publisher: Publisher | None = None
        if publish and settings.mr_url:
            self.publisher = Publisher(
                MessageRouter(
                    settings.mr_url,
                    settings.mr_username,
                    settings.mr_password,
                    settings.mr_ca_file,
                    settings.mr_timeout,
                ),
                settings.mr_batch_size,
                settings.mr_retry_min,
                settings.mr_retry_max,
                retention_days=settings.retention_days,
            )
        self._running: dict[str, _Running] = {}
        self._conf: Any = None
        self._thread: threading.Thread | None = None

    def endpoint(self, target: ListenTarget) -> Endpoint:
        wake = self.publisher.wake if self.publisher else (lambda: None)
        return Endpoint(
            target.cloud_owner,
            target.cloud_region_id,
            self.router,
            self.filters,
            self.counters,
            self.settings.db_retry_max,
            on_stored=wake,
        )

    def start(self) -> None:
        self._conf = oslo_config(
            prefetch=self.settings.listener_threads * 8,
            durable=self.settings.rabbit_durable,
            quorum=self.settings.rabbit_quorum,
        )
        self.sync(self.targets)
        if self.publisher is not None:
            self._thread = threading.Thread(
                target=self.publisher.run, name="mr-publisher", daemon=True
            )
            self._thread.start()
        else:
            log.warning("no MULTICLOUD_MR_URL: events are stored but not published")

    def sync(self, targets: list[ListenTarget]) -> None:
        """Listen to exactly ``targets`` (by vim id), touching only what changed."""
        wanted = {target.vim_id: target for target in targets}
        for vim_id in list(self._running):
            if wanted.get(vim_id) != self._running[vim_id].target:
                self._stop_one(self._running.pop(vim_id))
        for vim_id, target in wanted.items():
            if vim_id not in self._running:
                self._running[vim_id] = self._start_one(target)
        self.targets = targets

    def _start_one(self, target: ListenTarget) -> _Running:
        import oslo_messaging

        transport = oslo_messaging.get_notification_transport(self._conf, url=target.transport_url)
        listener = oslo_messaging.get_notification_listener(
            transport,
            [oslo_messaging.Target(topic=t, exchange=target.exchange) for t in target.topics],
            [self.endpoint(target)],
            executor="threading",
            allow_requeue=True,
            pool=target.pool,
        )
        listener.start(override_pool_size=self.settings.listener_threads)
        log.info(
            "listening to %s: exchange %s, topics %s, pool %s",
            target.vim_id,
            target.exchange,
            ",".join(target.topics),
            target.pool,
        )
        return _Running(target, transport, listener)

    @staticmethod
    def _stop_one(running: _Running) -> None:
        running.listener.stop()
        running.listener.wait()
        running.transport.cleanup()
        log.info("stopped listening to %s", running.target.vim_id)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop consuming, let in-flight notifications finish (and be acked), then publish."""
        running = list(self._running.values())
        self._running.clear()
        for item in running:
            item.listener.stop()
        for item in running:
            item.listener.wait()
            item.transport.cleanup()
        if self.publisher is not None and self._thread is not None:
            self.publisher.stop()
            self._thread.join(timeout)
            self.publisher.router.close()
        log.info("listener stopped: %s", self.stats())

    @property
    def listening(self) -> list[str]:
        return sorted(self._running)

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = {"listener": self.counters.snapshot()}
        if self.publisher is not None:
            stats["publisher"] = self.publisher.counters.snapshot()
        return stats
