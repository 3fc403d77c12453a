"""``python manage.py rotate_keys``: re-encrypt every stored secret under the first key.

Run it after putting a new key first in ``MULTICLOUD_ENCRYPTION_KEY`` (old keys
after it); once it has finished, the old keys can be removed.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from multicloud import crypto
from multicloud.vims.models import CloudRegion

FIELDS = ("password_encrypted", "notification_transport_url_encrypted")


class Command(BaseCommand):
    help = "Re-encrypt every stored secret (cloud passwords, transport URLs) under the first key."

    def handle(self, *args, **options) -> None:
        rotated = 0
        try:
            with transaction.atomic():
                for region in CloudRegion.objects.select_for_update():
                    for name in FIELDS:
                        setattr(region, name, crypto.rotate(getattr(region, name)))
                    region.save(update_fields=list(FIELDS))
                    rotated += 1
        except crypto.UndecryptableSecret:
            raise CommandError(
                "a stored secret cannot be decrypted with the configured keys; "
                "nothing was changed (keep the old key in MULTICLOUD_ENCRYPTION_KEY)"
            ) from None
        self.stdout.write(f"re-encrypted the secrets of {rotated} region(s) under the first key")
