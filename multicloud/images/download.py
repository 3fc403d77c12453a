"""Downloads of an image's bytes (streamed, ranges) and the VIO export to a server path."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from multicloud.exceptions import BadRequest, Forbidden, UpstreamError
from multicloud.images import staging
from multicloud.images.metadata import shape
from multicloud.images.ranges import content_range, parse_range
from multicloud.images.service import Target, active_image
from multicloud.openstack.client import adapter, project_scope

log = logging.getLogger(__name__)

_UNSAFE_NAME = re.compile(r"[^\w.+-]+")


@dataclass
class Download:
    status: int
    headers: list[tuple[str, str]]
    chunks: Iterable[bytes]


def download(target: Target, image_id: str, range_header: str | None, head: bool) -> Download:
    """The image's bytes (or one range of them) with their headers."""
    image = active_image(target, image_id)
    size = image["size"] or 0
    selected = parse_range(range_header, size)
    first, last = selected or (0, size - 1)
    headers = [
        ("Content-Length", str(last - first + 1 if size else 0)),
        ("Content-Disposition", content_disposition(image)),
        ("Accept-Ranges", "bytes"),
        *checksum_headers(image),
    ]
    if selected:
        headers.append(("Content-Range", content_range(first, last, size)))
    status = 206 if selected else 200
    if head or size == 0:
        return Download(status, headers, [])
    upstream = {"Range": f"bytes={first}-{last}"} if selected else {}
    # NOTE: through keystoneauth, not glanceclient, whose request path mangles Range.
    with target.errors():
        resp = adapter(target.region, "image", **project_scope(target.tenant)).get(
            f"/v2/images/{image['id']}/file", headers=upstream, stream=True
        )
    skip = first if selected and resp.status_code == 200 else 0
    # NOTE: raw, undecoded reads: Glance sends image data as is, and this path is the
    # fastest of what requests offers (iter_content adds a layer per chunk).
    body = resp.raw.stream(staging.conf().chunk_size, decode_content=False)
    return Download(status, headers, relay(body, skip, last - first + 1, image["id"], resp.close))


def relay(
    body: Iterable[bytes], skip: int, length: int, image_id: str, close=None
) -> Iterator[bytes]:
    """Yield ``length`` bytes of ``body`` after ``skip`` bytes, chunk by chunk."""
    sent = 0
    try:
        for chunk in body:
            if skip:
                cut = min(skip, len(chunk))
                chunk, skip = chunk[cut:], skip - cut
            chunk = chunk[: length - sent]
            if chunk:
                sent += len(chunk)
                yield chunk
            if sent >= length:
                break
            time.sleep(0)  # NOTE: a yield point for other green threads under Eventlet
    except Exception as exc:  # the status line is gone: all we can do is stop short
        log.error("download of image %s stopped after %d bytes: %s", image_id, sent, exc)
    finally:
        close = close or getattr(body, "close", None)
        if close is not None:
            close()
        if sent != length:
            log.warning("download of image %s ended at %d of %d bytes", image_id, sent, length)


def file_name(image: Any) -> str:
    """``<name>.<disk format>`` made safe as a single path component."""
    stem = _UNSAFE_NAME.sub("_", str(image.get("name") or image["id"])).strip("._") or image["id"]
    ext = str(image.get("disk_format") or "img")
    return f"{stem[:200]}.{ext}"


def content_disposition(image: Any) -> str:
    raw = f"{image.get('name') or image['id']}.{image.get('disk_format') or 'img'}"
    return f"attachment; filename=\"{file_name(image)}\"; filename*=UTF-8''{quote(raw, safe='')}"


def checksum_headers(image: Any) -> list[tuple[str, str]]:
    headers = []
    if image.get("checksum"):
        headers.append(("X-Image-Meta-Checksum", image["checksum"]))
    if image.get("os_hash_algo") and image.get("os_hash_value"):
        headers.append(("X-Image-Hash-Algo", image["os_hash_algo"]))
        headers.append(("X-Image-Hash-Value", image["os_hash_value"]))
    return headers


# --------------------------------------------------------------------------- export


def export_path(export_dir: Path | None, image_path: Any) -> Path:
    """The directory ``image_path`` names, which must lie inside ``export_dir``; else 403."""
    if export_dir is None:
        raise Forbidden(
            "writing images to a server path is disabled (MULTICLOUD_IMAGE_EXPORT_DIR is not "
            "set); download the bytes with GET .../images/file/{imageid} instead"
        )
    if not isinstance(image_path, str) or not image_path.strip() or "\0" in image_path:
        raise BadRequest("imagePath must be a directory path (a string)")
    base = Path(os.path.realpath(export_dir))
    wanted = Path(image_path)
    resolved = Path(os.path.realpath(wanted if wanted.is_absolute() else base / wanted))
    if resolved != base and base not in resolved.parents:
        raise Forbidden(f"imagePath must be inside the export directory {base}")
    return resolved


def export(target: Target, image_id: str, image_path: Any) -> dict[str, Any]:
    """Write the image to ``<imagePath>/<name>.<format>`` inside the export directory."""
    directory = export_path(staging.conf().export_dir, image_path)
    image = active_image(target, image_id)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / file_name(image)
    partial = directory / f".{final.name}.{uuid.uuid4().hex}.part"
    try:
        with target.errors(), open(partial, "xb") as out:
            for chunk in target.glance.images.data(image["id"]):  # digests checked
                out.write(chunk)
                time.sleep(0)
        os.replace(partial, final)
    except OSError as exc:
        raise UpstreamError(f"writing the image to {final} failed: {exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return {**shape(image, target.decoration()), "imagePath": str(final), "returnCode": 1}
