"""``python manage.py run_listener``: Nova notifications -> outbox -> DMaaP Message Router.

The command only wires things (:class:`listener.runner.ListenerService`) and handles
signals: SIGTERM or SIGINT stops consuming, lets in-flight notifications finish and be
acknowledged, stops the publisher and exits 0.
"""

from __future__ import annotations

import logging
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from listener import regions
from listener.runner import ListenerService
from multicloud.conf import get_settings

log = logging.getLogger("listener")


class Command(BaseCommand):
    help = "Listen to Nova notifications and publish the chosen VM events to Message Router."

    def add_arguments(self, parser):
        parser.add_argument("--stats-interval", type=float, default=60.0,
                            help="seconds between counter log lines (0: never)")

    def handle(self, *args, **options):
        settings = get_settings().events
        targets = regions.targets(settings)
        if not targets:
            raise CommandError(
                "no cloud region to listen to: set MULTICLOUD_EVENTS_TRANSPORT_URL (with "
                "MULTICLOUD_EVENTS_CLOUD_OWNER/_CLOUD_REGION_ID) or register a region with "
                "cloud-extra-info.multicloud-events.transport-url")
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        service = ListenerService(settings, targets)
        service.start()
        log.info("run_listener: started for %s", ", ".join(t.vim_id for t in targets))
        interval = options["stats_interval"]
        while not stop.wait(interval if interval > 0 else 3600):
            if interval > 0:
                log.info("run_listener: %s", service.stats())
        log.info("run_listener: stopping")
        service.stop()
