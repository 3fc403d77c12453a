"""``manage.py cloud_region``: register, show, list or unregister cloud regions from a shell."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from multicloud.conf import get_settings
from multicloud.exceptions import MulticloudError
from multicloud.vims import aai_registry, discovery, service


class Command(BaseCommand):
    help = (
        "Manage cloud regions: register (A&AI cloud-region JSON), show, list, unregister. "
        "With MULTICLOUD_REGISTRY=aai, register reads the region from A&AI (the file, if "
        "any, may only name defaultTenant) and runs its job before returning; unregister "
        "removes what this service wrote into A&AI."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        register = sub.add_parser("register", help="register or update a region")
        register.add_argument("owner", help="cloud-owner (no '_')")
        register.add_argument("region", help="cloud-region-id")
        register.add_argument(
            "file",
            nargs="?",
            help="A&AI cloud-region JSON file, or - for stdin (aai mode: optional)",
        )
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
        body = _read_body(file)
        if _aai_mode():
            self._register_from_aai(owner, region, body)
            return
        if body is None:
            raise CommandError("register needs the region's A&AI cloud-region JSON file")
        record, created = service.register(owner, region, body)
        if wait:
            discovery.run(record.pk, record.generation)
            record.refresh_from_db()
        self._print(service.describe(record))

    def _register_from_aai(self, owner, region, body):
        public_url = get_settings().public_url
        if not public_url:
            raise CommandError(
                "MULTICLOUD_PUBLIC_URL must be set: the identity-url for A&AI is built on it"
            )
        record = aai_registry.register(owner, region, body, public_url, start=False)
        # NOTE: a command cannot leave a background job behind: it runs here.
        aai_registry.run(record.pk, record.generation)
        record.refresh_from_db()
        self._print(aai_registry.describe(record))

    def _show(self, owner, region, **_):
        record = service.get_region(owner, region)
        describe = aai_registry.describe if _aai_mode() else service.describe
        self._print(describe(record))

    def _unregister(self, owner, region, **_):
        if _aai_mode():
            aai_registry.unregister(owner, region)
        else:
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


def _aai_mode() -> bool:
    return get_settings().aai.enabled


def _read_body(file: str | None):
    if file is None:
        return None
    text = sys.stdin.read() if file == "-" else open(file).read()
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CommandError(f"{file}: not JSON ({exc})") from None
