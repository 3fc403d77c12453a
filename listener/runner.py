"""Wiring of the long-running listener: oslo.messaging listeners plus the publisher thread.

Threads only: oslo.messaging's ``threading`` executor runs the endpoints; Eventlet is never
imported or monkey-patched here (oslo.messaging imports it as a library, unpatched).
``run_listener`` builds a :class:`ListenerService`, calls :meth:`start`, waits for a signal
and calls :meth:`stop`.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from listener.consumer import Endpoint, filters_from
from listener.mr import MessageRouter
from listener.publisher import Counters, Publisher
from listener.regions import ListenTarget
from listener.subscriptions import Router
from listener.transport import oslo_config
from multicloud.conf import EventsSettings

log = logging.getLogger(__name__)


class ListenerService:
    """One oslo.messaging notification listener per region, one publisher thread."""

    def __init__(self, settings: EventsSettings, targets: list[ListenTarget],
                 publish: bool = True):
        self.settings = settings
        self.targets = targets
        self.counters = Counters()
        self.router = Router(settings.default_states, settings.default_topic)
        self.filters = filters_from(settings.prefer_format, settings.phases)
        self.publisher: Publisher | None = None
        if publish and settings.mr_url:
            self.publisher = Publisher(
                MessageRouter(settings.mr_url, settings.mr_username, settings.mr_password,
                              settings.mr_ca_file, settings.mr_timeout),
                settings.mr_batch_size, settings.mr_retry_min, settings.mr_retry_max,
            )
        self._listeners: list[Any] = []
        self._transports: list[Any] = []
        self._thread: threading.Thread | None = None

    def endpoint(self, target: ListenTarget) -> Endpoint:
        wake = self.publisher.wake if self.publisher else (lambda: None)
        return Endpoint(target.cloud_owner, target.cloud_region_id, self.router, self.filters,
                        self.counters, self.settings.db_retry_max, on_stored=wake)

    def start(self) -> None:
        import oslo_messaging

        threads = self.settings.listener_threads
        conf = oslo_config(prefetch=threads * 8)
        for target in self.targets:
            transport = oslo_messaging.get_notification_transport(conf, url=target.transport_url)
            self._transports.append(transport)
            listener = oslo_messaging.get_notification_listener(
                transport,
                [oslo_messaging.Target(topic=t, exchange=target.exchange) for t in target.topics],
                [self.endpoint(target)],
                executor="threading",
                allow_requeue=True,
                pool=target.pool,
            )
            listener.start(override_pool_size=threads)
            self._listeners.append(listener)
            log.info("listening to %s: exchange %s, topics %s, pool %s", target.vim_id,
                     target.exchange, ",".join(target.topics), target.pool)
        if self.publisher is not None:
            self._thread = threading.Thread(target=self.publisher.run, name="mr-publisher",
                                            daemon=True)
            self._thread.start()
        else:
            log.warning("no MULTICLOUD_MR_URL: events are stored but not published")

    def stop(self, timeout: float = 30.0) -> None:
        """Stop consuming, let in-flight notifications finish (and be acked), then publish."""
        for listener in self._listeners:
            listener.stop()
        for listener in self._listeners:
            listener.wait()
        for transport in self._transports:
            transport.cleanup()
        self._listeners, self._transports = [], []
        if self.publisher is not None and self._thread is not None:
            self.publisher.stop()
            self._thread.join(timeout)
            self.publisher.router.close()
        log.info("listener stopped: %s", self.stats())

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = {"listener": self.counters.snapshot()}
        if self.publisher is not None:
            stats["publisher"] = self.publisher.counters.snapshot()
        return stats
