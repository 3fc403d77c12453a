"""``python manage.py download_image``: download an image from a cloud region's Glance."""

from __future__ import annotations

import contextlib
import os

from django.core.management.base import BaseCommand, CommandError

from multicloud.exceptions import MulticloudError
from multicloud.images import download, service
from multicloud.images.management.commands._progress import progress_bar
from multicloud.vims.service import get_region, parse_vim_id


class Command(BaseCommand):
    help = "Download an image's bytes from a region through Multicloud to a local file."

    def add_arguments(self, parser):
        parser.add_argument("image_id")
        parser.add_argument("--vim", required=True, help="{cloud-owner}_{cloud-region-id}")
        parser.add_argument("--tenant", required=True, help="project id or name")
        parser.add_argument("--output", "-o", help="file to write (default: <name>.<format>)")

    def handle(self, *args, **options):
        try:
            target = service.connect(get_region(*parse_vim_id(options["vim"])), options["tenant"])
            image = service.active_image(target, options["image_id"])
            output = options["output"] or download.file_name(image)
            answer = download.download(target, options["image_id"], None, head=False)
            partial = f"{output}.part"
            try:
                received = 0
                with (
                    open(partial, "xb") as out,
                    progress_bar(image["size"], "download", self.stderr._out) as bar,
                ):
                    for chunk in answer.chunks:
                        out.write(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
                if received != image["size"]:
                    raise CommandError(f"got {received} of {image['size']} bytes")
                os.replace(partial, output)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(partial)
        except MulticloudError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        self.stdout.write(f"{output}: {image['size']} bytes, md5 {image.get('checksum')}")
