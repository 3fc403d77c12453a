"""``python manage.py run_listener``: Nova notifications -> outbox -> DMaaP Message Router.

The command only wires things (:class:`listener.runner.ListenerService`) and handles
signals: SIGTERM or SIGINT stops consuming, lets in-flight notifications finish and be
acknowledged, stops the publisher and exits 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from listener import metrics, regions
from listener.runner import STOP_TIMEOUT, ListenerService, publish_only
from multicloud.conf import get_settings

log = logging.getLogger("listener")


class Command(BaseCommand):
    help = "Listen to Nova notifications and publish the chosen VM events to Message Router."

    def add_arguments(self, parser):
        parser.add_argument(
            "--stats-interval",
            type=float,
            default=60.0,
            help="seconds between counter log lines (0: never)",
        )
        parser.add_argument(
            "--refresh-interval",
            type=float,
            default=30.0,
            help="seconds between re-reads of the region registry (0: never)",
        )
        parser.add_argument(
            "--drain-timeout",
            type=float,
            default=STOP_TIMEOUT,
            help="seconds SIGTERM waits for in-flight notifications before exiting anyway",
        )
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=0,
            help="serve Prometheus metrics on this port (0: not served)",
        )
        parser.add_argument("--metrics-host", default="0.0.0.0", help="address of the metrics port")
        parser.add_argument(
            "--publisher",
            choices=("process", "thread"),
            default="process",
            help="run the publisher in a child process (default: a second core publishes "
            "while this process receives) or in a thread of this process",
        )
        parser.add_argument("--only-publish", action="store_true", help=argparse.SUPPRESS)
        parser.add_argument("--report-fd", type=int, default=-1, help=argparse.SUPPRESS)
        parser.add_argument(
            "--reconcile-interval",
            type=float,
            default=None,
            help="seconds between reconciliations of every region with Nova, reporting state "
            "changes the listener missed (default MULTICLOUD_EVENTS_RECONCILE_INTERVAL, 0: off; "
            "a registration's multicloud-events.reconcile-interval wins for its region)",
        )

    def handle(self, *args, **options):
        settings = get_settings().events
        if options["only_publish"]:
            # NOTE: the child process of a run_listener (listener/publishing.py).
            publish_only(settings, options["report_fd"])
            return
        if options["metrics_port"]:
            metrics.serve(options["metrics_port"], options["metrics_host"])
        reconcile = options["reconcile_interval"]
        if reconcile is not None and reconcile < 0:
            raise CommandError("--reconcile-interval must be 0 or more seconds")
        targets = regions.targets(settings, reconcile=reconcile)
        if not targets:
            log.warning(
                "run_listener: no cloud region to listen to yet: set "
                "MULTICLOUD_EVENTS_TRANSPORT_URL (with MULTICLOUD_EVENTS_CLOUD_OWNER/"
                "_CLOUD_REGION_ID) or register a region with "
                "cloud-extra-info.multicloud-events.transport-url"
            )
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        child = None
        if options["publisher"] == "process":
            child = [sys.executable, os.path.abspath(sys.argv[0]), "run_listener", "--only-publish"]
        service = ListenerService(settings, targets, publisher_argv=child)
        service.start()
        log.info("run_listener: started for %s", ", ".join(service.listening) or "no region")
        self.loop(
            service,
            settings,
            stop,
            options["stats_interval"],
            options["refresh_interval"],
            reconcile,
        )
        log.info("run_listener: stopping")
        if not service.stop(options["drain_timeout"]):
            # NOTE: a listener stuck on a broker would keep the process alive; whatever it
            # did not acknowledge is redelivered by the broker, nothing is lost.
            logging.shutdown()
            os._exit(0)

    @staticmethod
    def loop(
        service,
        settings,
        stop: threading.Event,
        stats_every: float,
        refresh_every: float,
        reconcile: float | None = None,
    ) -> None:
        now = time.monotonic()
        next_stats, next_refresh = now + stats_every, now + refresh_every
        while not stop.wait(1.0):
            now = time.monotonic()
            if stats_every > 0 and now >= next_stats:
                log.info("run_listener: %s", service.stats())
                next_stats = now + stats_every
            if refresh_every > 0 and now >= next_refresh:
                next_refresh = now + refresh_every
                try:
                    service.sync(regions.targets(settings, reconcile=reconcile))
                except DatabaseError as exc:
                    log.warning("run_listener: cannot read the region registry: %s", exc)
                except Exception:
                    # NOTE: one odd registration must not end the listener of every region.
                    log.exception("run_listener: cannot refresh the regions; keeping them")
