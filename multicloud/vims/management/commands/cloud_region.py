"""``manage.py cloud_region``: register, show, list or unregister cloud regions from a shell."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from multicloud.exceptions import MulticloudError
from multicloud.vims import discovery, service


class Command(BaseCommand):
    help = "Manage cloud regions: register (A&AI cloud-region JSON), show, list, unregister."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        register = sub.add_parser("register", help="register or update a region")
        register.add_argument("owner", help="cloud-owner (no '_')")
        register.add_argument("region", help="cloud-region-id")
        register.add_argument("file", help="A&AI cloud-region JSON file, or - for stdin")
        register.add_argument("--wait", action="store_true", help="discover before returning")
        helps = {
            "show": "print a region's registration and discovery (no secrets)",
            "unregister": "remove a region",
        }
        for name, text in helps.items():
            action = sub.add_parser(name, help=text)
            action.add_argument("owner", help="cloud-owner (no '_')")
            action.add_argument("region", help="cloud-region-id")
        sub.add_parser("list", help="one line per region: vim id, cloud type, discovery status")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except MulticloudError as exc:
            raise CommandError(f"{exc.message} (HTTP {exc.code})") from None

    def _register(self, owner, region, file, wait, **_):
        text = sys.stdin.read() if file == "-" else open(file).read()
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise CommandError(f"{file}: not JSON ({exc})") from None
        record, created = service.register(owner, region, body)
        if wait:
            discovery.run(record.pk, record.generation)
            record.refresh_from_db()
        self._print(service.describe(record))

    def _show(self, owner, region, **_):
        self._print(service.describe(service.get_region(owner, region)))

    def _unregister(self, owner, region, **_):
        service.unregister(owner, region)
        self.stdout.write(f"unregistered {owner}_{region}")

    def _list(self, **_):
        records = list(service.list_regions())
        if not records:
            self.stdout.write("no cloud regions registered (register one: cloud_region register)")
        for record in records:
            self.stdout.write(f"{record.vim_id}\t{record.cloud_type}\t{record.discovery_status}")

    def _print(self, data):
        self.stdout.write(json.dumps(data, indent=2))
