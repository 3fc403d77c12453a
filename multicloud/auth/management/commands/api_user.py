"""``python manage.py api_user create|list|delete|set-role``: the API users of basic auth."""

from __future__ import annotations

import getpass
import sys

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError

from multicloud.auth.identity import ROLES
from multicloud.auth.models import ApiUser


class Command(BaseCommand):
    help = "Manage the users of MULTICLOUD_AUTH=basic (roles: admin, member, reader)."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="add a user")
        create.add_argument("name")
        create.add_argument("--role", choices=ROLES, required=True)
        create.add_argument(
            "--password-file", help="file holding the password (default: ask, or read stdin)"
        )
        actions.add_parser("list", help="list the users and their roles")
        delete = actions.add_parser("delete", help="remove a user")
        delete.add_argument("name")
        set_role = actions.add_parser("set-role", help="change a user's role")
        set_role.add_argument("name")
        set_role.add_argument("--role", choices=ROLES, required=True)

    def handle(self, *args, **options) -> None:
        action = options["action"].replace("-", "_")
        getattr(self, f"_{action}")(options)

    def _create(self, options) -> None:
        name = options["name"]
        if ApiUser.objects.filter(name=name).exists():
            raise CommandError(f"user {name!r} exists already")
        password = _password(options.get("password_file"))
        ApiUser.objects.create(name=name, role=options["role"], password=make_password(password))
        self.stdout.write(f"created {name} ({options['role']})")

    def _list(self, options) -> None:
        for user in ApiUser.objects.all():
            self.stdout.write(f"{user.name}\t{user.role}\t{user.created_at.isoformat()}")

    def _delete(self, options) -> None:
        deleted, _ = ApiUser.objects.filter(name=options["name"]).delete()
        if not deleted:
            raise CommandError(f"no user {options['name']!r}")
        self.stdout.write(f"deleted {options['name']}")

    def _set_role(self, options) -> None:
        updated = ApiUser.objects.filter(name=options["name"]).update(role=options["role"])
        if not updated:
            raise CommandError(f"no user {options['name']!r}")
        self.stdout.write(f"{options['name']} is now {options['role']}")


def _password(path: str | None) -> str:
    """The new password: from ``path``, a prompt on a terminal, or stdin's first line."""
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                password = handle.read().rstrip("\r\n")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    elif sys.stdin.isatty():
        password = getpass.getpass("password: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        raise CommandError("the password must have at least 8 characters")
    return password
