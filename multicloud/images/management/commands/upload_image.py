"""``python manage.py upload_image``: upload an image file to a cloud region's Glance."""

from __future__ import annotations

import json
import os

from django.core.management.base import BaseCommand, CommandError

from multicloud.exceptions import MulticloudError
from multicloud.images import service
from multicloud.images.management.commands._progress import progress_bar, reading
from multicloud.vims.service import get_region, parse_vim_id


class Command(BaseCommand):
    help = "Upload an image file through Multicloud (staged, hashed, verified) to a region."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the image file")
        parser.add_argument("--vim", required=True, help="{cloud-owner}_{cloud-region-id}")
        parser.add_argument("--tenant", required=True, help="project id or name")
        parser.add_argument("--name", help="image name (default: the file name)")
        parser.add_argument("--image-type", help="disk format (default: the file extension)")
        parser.add_argument("--container-format", default="bare")
        parser.add_argument("--visibility")
        parser.add_argument("--properties", help="JSON object of extra properties")

    def handle(self, *args, **options):
        path = options["file"]
        if not os.path.isfile(path):
            raise CommandError(f"no such file: {path}")
        values = {
            "name": options["name"],
            "imageType": options["image_type"],
            "containerFormat": options["container_format"],
            "visibility": options["visibility"],
            "properties": options["properties"],
        }
        try:
            target = service.connect(get_region(*parse_vim_id(options["vim"])), options["tenant"])
            size = os.path.getsize(path)
            with (
                open(path, "rb") as handle,
                progress_bar(size, "upload", self.stderr._out) as bar,
            ):
                reader = reading(handle, bar)
                image = service.upload_raw(target, reader, size, values, os.path.basename(path))
        except MulticloudError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        self.stdout.write(json.dumps(image, indent=2))
