"""Notes of the Glance images an upload created and has not finished, and their sweep.

Every upload creates its Glance image before the bytes go in. A note
(:class:`~multicloud.images.models.PendingImage`) is written as soon as Glance
has answered and dropped once the image is verified, or deleted after a
failure. A worker killed mid-upload leaves its note, its ``*.part`` staging file
and a half-created image (``queued``/``saving``) behind; at start-up
:func:`sweep` deletes such images from Glance, then the partial files go.
"""

from __future__ import annotations

import logging
import socket
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone

from multicloud.exceptions import MulticloudError, NotFound
from multicloud.images.models import PendingImage

log = logging.getLogger(__name__)

#: A note this old is abandoned whatever its host (no upload takes a day).
ABANDONED_AFTER = timedelta(days=1)


def note(target: Any, image_id: str, path: str = "") -> None:
    """Remember that ``target`` (a :class:`~multicloud.images.service.Target`) got ``image_id``."""
    PendingImage.objects.create(
        vim_id=target.region.vim_id,
        tenant=target.tenant,
        image_id=image_id,
        path=path,
        host=socket.gethostname(),
    )


def moved(image_id: str, path: Path | str) -> None:
    """The image's bytes now come from ``path`` (a new staging file, or it was renamed)."""
    PendingImage.objects.filter(image_id=image_id).update(path=str(path))


def done(vim_id: str, image_id: str) -> None:
    """The image was verified or deleted: nothing to sweep."""
    PendingImage.objects.filter(vim_id=vim_id, image_id=image_id).delete()


def sweep(staging_dir: Path, idle: float, budget: float) -> int:
    """Delete the images of uploads that died; how many notes were settled.

    This host's notes whose ``.part`` file is gone or has not grown for ``idle``
    seconds (or whose URL fetch never started staging) are abandoned, and so is
    any note older than a day. Glance calls stop after ``budget`` seconds; what
    is left waits for the next start.
    """
    deadline = time.monotonic() + budget
    settled = 0
    for pending in _abandoned(staging_dir, idle):
        if time.monotonic() > deadline:
            log.warning("stopped removing half-created images: the start-up budget is spent")
            break
        if _delete(pending):
            pending.delete()
            if pending.path.endswith(".part"):
                Path(pending.path).unlink(missing_ok=True)
            settled += 1
    if settled:
        log.info("removed %d half-created image(s) of interrupted uploads", settled)
    return settled


def _abandoned(staging_dir: Path, idle: float) -> list[PendingImage]:
    now = timezone.now()
    old = now - timedelta(seconds=idle)
    host = socket.gethostname()
    found = []
    for pending in PendingImage.objects.filter(created__lt=old).order_by("created"):
        if pending.created < now - ABANDONED_AFTER:
            found.append(pending)
        elif pending.host == host and _dead_here(pending.path, staging_dir, time.time() - idle):
            found.append(pending)
    return found


def _dead_here(path: str, staging_dir: Path, stale_before: float) -> bool:
    """Whether the upload of a note of this host cannot be running any more."""
    if not path:
        return True  # a URL fetch that never started staging
    file = Path(path)
    if file.suffix != ".part" or file.parent != staging_dir:
        return False  # complete (being verified), or another server's staging dir
    try:
        return file.stat().st_mtime < stale_before
    except FileNotFoundError:
        return True


def _delete(pending: PendingImage) -> bool:
    """Delete the note's image (an active one of an old note is kept); False to retry later."""
    from multicloud.openstack.client import glance_for, translate_glance_errors
    from multicloud.vims.service import get_region, parse_vim_id

    try:
        region = get_region(*parse_vim_id(pending.vim_id))
        with translate_glance_errors(f"the image service of {pending.vim_id}"):
            glance = glance_for(region, pending.tenant)
            image = glance.images.get(pending.image_id)
            if image["status"] != "active":
                glance.images.delete(pending.image_id)
                log.info("removed half-created image %s from %s", image["id"], pending.vim_id)
    except NotFound:
        return True  # the region, the project or the image is gone already
    except MulticloudError as exc:
        log.warning("cannot remove half-created image %s yet: %s", pending.image_id, exc.message)
        return False
    except Exception:  # noqa: BLE001 - a clean-up never stops the start-up; retried next time
        log.exception("cannot remove half-created image %s yet", pending.image_id)
        return False
    return True
