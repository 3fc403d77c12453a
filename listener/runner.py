"""Wiring of the long-running listener: oslo.messaging listeners plus the publisher (a child
process, see :mod:`listener.publishing`, or a thread).

Threads only: oslo.messaging's ``threading`` executor runs the endpoints; Eventlet is never
imported or monkey-patched here (oslo.messaging imports it as a library, unpatched).
``run_listener`` builds a :class:`ListenerService`, calls :meth:`start`, waits for a signal
and calls :meth:`stop`.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from listener import publishing
from listener.consumer import BatchEndpoint, Endpoint, filters_from
from listener.metrics import Increments, add_increments, count_notification
from listener.mr import MessageRouter
from listener.outbox import GiveUp
from listener.publisher import Counters, Publisher
from listener.publishing import PublisherProcess
from listener.reconcile import MARGIN, QUIET, Reconciler
from listener.reconcile import Region as ReconcileRegion
from listener.regions import ListenTarget
from listener.supervisor import RegionListener, State
from listener.transport import (
    keep_redeliveries,
    oslo_config,
    patient_polls,
    quiet_closing_deliveries,
)
from listener.ves import VesCollector
from multicloud.conf import EventsSettings
from multicloud.events.subscriptions import Router

log = logging.getLogger(__name__)
#: Seconds a stop may take (in-flight notifications finishing), whatever the brokers do.
STOP_TIMEOUT = 10.0
#: Seconds an idle region's listener waits for a notification before polling again (a
#: stop waits for it at most this long).
IDLE_POLL = 1.0
#: Seconds the listeners wait for the publisher's process to start before they start anyway.
CHILD_READY_TIMEOUT = 30.0


def prefetch(settings: EventsSettings) -> int:
    """Unacknowledged deliveries RabbitMQ may push: enough for every thread's full batch."""
    return max(
        settings.listener_threads * 8, settings.listener_threads * settings.listener_batch_size
    )


class ListenerService:
    """One oslo.messaging notification listener per region, one publisher.

    Each region lives in its own :class:`~listener.supervisor.RegionListener` thread, so a
    bad transport URL or a broker that is down never blocks the other regions, the
    publisher (started first) or a SIGTERM. :meth:`sync` starts listeners for new regions,
    restarts those whose transport, topics or pool changed and stops those that went away,
    so the registry can change at run time.
    """

    def __init__(
        self,
        settings: EventsSettings,
        targets: list[ListenTarget],
        publish: bool = True,
        publisher_argv: list[str] | None = None,
    ):
        """``publisher_argv``: run the publisher as this child process
        (:mod:`listener.publishing`) instead of a thread of this one."""
        self.settings = settings
        self.targets = targets
        self.counters = Counters(mirror=count_notification)
        self.router = Router(settings.default_states, settings.default_topic)
        self.filters = filters_from(settings.prefer_format, settings.phases)
        self.publisher: Publisher | None = None
        self.child: PublisherProcess | None = None
        sinks = self.sinks(settings)
        if publish and sinks and publisher_argv:
            self.child = PublisherProcess(publisher_argv, on_report=add_increments)
        elif publish and sinks:
            self.publisher = make_publisher(settings, sinks)
        self._regions: dict[str, RegionListener] = {}
        self._endpoints: dict[str, Endpoint] = {}
        self._conf: Any = None
        self._thread: threading.Thread | None = None
        self.reconciler = Reconciler(
            self.caught_up,
            self.router.routes,
            _region_record,
            on_stored=self.wake,
        )
        self._reconciling = False
        #: Where every region's batches are stored: a bounded number of threads, so of
        #: database connections, however many regions there are.
        self._store = ThreadPoolExecutor(settings.listener_threads, thread_name_prefix="store")

    @staticmethod
    def sinks(settings: EventsSettings) -> dict[str, Any]:
        """The configured sinks by name: Message Router and/or the VES collector."""
        found: dict[str, Any] = {}
        if settings.mr_url:
            found[MessageRouter.name] = MessageRouter(
                settings.mr_url,
                settings.mr_username,
                settings.mr_password,
                settings.mr_ca_file,
                settings.mr_timeout,
            )
        if settings.ves_url:
            found[VesCollector.name] = VesCollector(
                settings.ves_url,
                settings.ves_username,
                settings.ves_password,
                settings.ves_ca_file,
                settings.ves_timeout,
                reporting_entity=settings.ves_reporting_entity,
            )
        return found

    def wake(self) -> None:
        """Something was stored: wake the publisher (thread or process)."""
        if self.child is not None:
            self.child.wake()
        elif self.publisher is not None:
            self.publisher.wake()

    def endpoint(self, target: ListenTarget) -> Endpoint:
        wake = self.wake
        endpoint = Endpoint(
            target.cloud_owner,
            target.cloud_region_id,
            self.router,
            self.filters,
            self.counters,
            self.settings.db_retry_max,
            on_stored=wake,
            track=target.reconcile_interval > 0,
        )
        self._endpoints[target.vim_id] = endpoint
        return endpoint

    def caught_up(self, vim_id: str) -> datetime | None:
        """Up to which Nova time the region's listener has received everything (see
        :mod:`listener.reconcile`); None while it is not listening."""
        region = self._regions.get(vim_id)
        endpoint = self._endpoints.get(vim_id)
        if region is None or endpoint is None or region.state is not State.LISTENING:
            return None
        if time.monotonic() - endpoint.last_received >= QUIET:
            return datetime.now(UTC) - MARGIN
        newest = endpoint.newest_seen
        return newest - MARGIN if newest is not None else None

    def start(self) -> None:
        """Start the publisher, then every region's listener (none of them blocks)."""
        quiet_closing_deliveries()
        self._conf = oslo_config(
            prefetch=prefetch(self.settings),
            durable=self.settings.rabbit_durable,
            quorum=self.settings.rabbit_quorum,
        )
        if self.child is not None:
            self.child.start()
            # NOTE: the publisher starts first, as a thread would (the child takes a
            # second or two to start; a listener would meanwhile store unpublished).
            if not self.child.wait_ready(CHILD_READY_TIMEOUT):
                log.warning("publisher process not ready after %.0fs", CHILD_READY_TIMEOUT)
        elif self.publisher is not None:
            self._thread = threading.Thread(
                target=self.publisher.run, name="mr-publisher", daemon=True
            )
            self._thread.start()
        else:
            log.warning(
                "no MULTICLOUD_MR_URL or MULTICLOUD_VES_URL: events are stored but not published"
            )
        self.sync(self.targets)

    def sync(self, targets: list[ListenTarget]) -> None:
        """Listen to exactly ``targets`` (by vim id), touching only what changed."""
        wanted = {target.vim_id: target for target in targets}
        for vim_id in list(self._regions):
            if wanted.get(vim_id) != self._regions[vim_id].target:
                self._stop_in_background(self._regions.pop(vim_id))
        for vim_id, target in wanted.items():
            if vim_id not in self._regions:
                region = RegionListener(target, self._make_listener)
                self._regions[vim_id] = region
                region.start()
        self.targets = targets
        reconciled = [
            ReconcileRegion(t.cloud_owner, t.cloud_region_id, t.reconcile_interval)
            for t in targets
            if t.reconcile_interval > 0
        ]
        self.reconciler.set_regions(reconciled)
        if reconciled and not self._reconciling:
            self._reconciling = True
            self.reconciler.start()

    def _make_listener(self, target: ListenTarget) -> tuple[Any, Any]:
        import oslo_messaging

        transport = oslo_messaging.get_notification_transport(self._conf, url=target.transport_url)
        try:
            # NOTE: a batch listener: one outbox transaction per batch, acknowledged after
            # its commit (per-notification transactions cost most of the listener's time).
            listener = oslo_messaging.get_batch_notification_listener(
                transport,
                [oslo_messaging.Target(topic=t, exchange=target.exchange) for t in target.topics],
                [BatchEndpoint(self.endpoint(target), self._stored_in_pool)],
                executor="threading",
                allow_requeue=True,
                pool=target.pool,
                batch_size=self.settings.listener_batch_size,
                batch_timeout=self.settings.listener_batch_timeout,
            )
            listener.start(override_pool_size=self.settings.listener_threads)
            keep_redeliveries(listener)
            patient_polls(listener, IDLE_POLL)
        except BaseException:
            transport.cleanup()
            raise
        return transport, listener

    def _stored_in_pool(self, handle: Any, *args: Any) -> str:
        return self._store.submit(handle, *args).result()

    @staticmethod
    def _stop_in_background(region: RegionListener) -> None:
        def stop() -> None:
            region.stop()
            region.join(time.monotonic() + STOP_TIMEOUT)
            log.info("stopped listening to %s", region.vim_id)

        threading.Thread(target=stop, name=f"stop-{region.vim_id}"[:60], daemon=True).start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Stop consuming, let in-flight notifications finish (and be acked), stop publishing.

        Returns within ``timeout`` whatever the brokers do; False when something did not
        finish in time (its unacknowledged notifications are redelivered by the broker).
        """
        deadline = time.monotonic() + timeout
        self.reconciler.stop(min(2.0, timeout / 4))
        regions = list(self._regions.values())
        self._regions.clear()
        for region in regions:
            region.stop()
        late = [r.vim_id for r in regions if not r.join(deadline)]
        self._store.shutdown(wait=False)
        if late:
            log.warning("listener: %s did not stop in %.0fs", ", ".join(late), timeout)
        if self.child is not None and not self.child.stop(deadline):
            late.append("publisher")
        if self.publisher is not None and self._thread is not None:
            self.publisher.stop()
            self._thread.join(max(0.1, deadline - time.monotonic()))
            for sink in self.publisher.sinks.values():
                sink.close()
            late += ["publisher"] if self._thread.is_alive() else []
        log.info("listener stopped: %s", self.stats())
        return not late

    @property
    def listening(self) -> list[str]:
        return sorted(self._regions)

    def states(self) -> dict[str, str]:
        """Each region's state (``listening``, ``unreachable``, ``refused``, ...)."""
        return {vim_id: r.state.value for vim_id, r in sorted(self._regions.items())}

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = {"listener": self.counters.snapshot()}
        if self.publisher is not None:
            stats["publisher"] = self.publisher.counters.snapshot()
        elif self.child is not None:
            stats["publisher"] = self.child.snapshot()
        return stats


def make_publisher(settings: EventsSettings, sinks: dict[str, Any]) -> Publisher:
    """The publisher the settings describe, sending to ``sinks``."""
    return Publisher(
        sinks,
        settings.mr_batch_size,
        settings.mr_retry_min,
        settings.mr_retry_max,
        retention_days=settings.retention_days,
        give_up=GiveUp(settings.mr_max_attempts, settings.mr_max_age),
        parallel=settings.mr_parallel,
    )


def publish_only(settings: EventsSettings, report_fd: int) -> None:
    """The publisher's child process (``run_listener --only-publish``): publish until the
    listener goes away or a signal comes (see :mod:`listener.publishing`)."""
    sinks = ListenerService.sinks(settings)
    if not sinks:
        return
    publisher = make_publisher(settings, sinks)
    increments = Increments()
    try:
        publishing.serve(
            publisher.run,
            publisher.stop,
            publisher.wake,
            publisher.counters.snapshot,
            increments.take,
            report_fd,
        )
    finally:
        for sink in sinks.values():
            sink.close()


def _region_record(owner: str, region: str) -> Any:
    from multicloud.vims.service import get_region

    return get_region(owner, region)
