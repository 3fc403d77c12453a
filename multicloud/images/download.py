"""Downloads of an image's bytes (streamed, ranges) and the VIO export to a server path."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from multicloud import transaction
from multicloud.exceptions import BadRequest, Forbidden, UpstreamError
from multicloud.images import staging
from multicloud.images.metadata import DISK_FORMATS, shape
from multicloud.images.ranges import content_range, parse_range
from multicloud.images.service import Target, active_image
from multicloud.openstack.client import adapter, project_scope

log = logging.getLogger(__name__)

_UNSAFE_NAME = re.compile(r"[^\w.+-]+")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass
class Download:
    status: int
    headers: list[tuple[str, str]]
    chunks: Iterable[bytes]


def download(target: Target, image_id: str, range_header: str | None, head: bool) -> Download:
    """The image's bytes (or one range of them) with their headers.

    A whole download asks Glance for the bytes while it reads the image's record (the
    size, the digests and whether it is ``active``), so the first byte comes one Glance
    round trip sooner; a range needs the size first.
    """
    early = None if head or range_header else _Early(target, image_id)
    try:
        image = active_image(target, image_id)
    except BaseException:
        if early is not None:
            early.discard()
        raise
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
        if early is not None:
            early.discard()
        return Download(status, headers, [])
    if early is not None:
        resp = early.result()
    else:
        resp = _open_file(target, image["id"], {"Range": f"bytes={first}-{last}"})
    skip = first if selected and resp.status_code == 200 else 0
    # NOTE: raw, undecoded reads: Glance sends image data as is, and this path is the
    # fastest of what requests offers (iter_content adds a layer per chunk).
    body = resp.raw.stream(staging.conf().chunk_size, decode_content=False)
    return Download(status, headers, relay(body, skip, last - first + 1, image["id"], resp.close))


def _open_file(target: Target, image_id: str, headers: dict[str, str]) -> Any:
    """Glance's answer to ``GET /v2/images/{id}/file`` (streamed; the caller closes it)."""
    # NOTE: through keystoneauth, not glanceclient, whose request path mangles Range.
    with target.errors():
        return adapter(target.region, "image", **project_scope(target.tenant)).get(
            f"/v2/images/{quote(image_id, safe='')}/file", headers=headers, stream=True
        )


class _Early:
    """:func:`_open_file` started in another thread (a green one under Eventlet)."""

    def __init__(self, target: Target, image_id: str):
        self.answer: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(
            target=transaction.propagating(self._run),
            args=(target, image_id),
            name="image-download",
            daemon=True,
        )
        self.thread.start()

    def _run(self, target: Target, image_id: str) -> None:
        try:
            self.answer = _open_file(target, image_id, {})
        except BaseException as exc:  # handed to the request's thread
            self.error = exc

    def result(self) -> Any:
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.answer

    def discard(self) -> None:
        """Not needed after all (an error, a HEAD, an empty image): close what came."""
        self.thread.join()
        if self.answer is not None:
            self.answer.close()


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
    """``<name>.<disk format>`` made safe as a single path component.

    Only sanitized parts: Glance's values are the cloud's, and a malicious one
    could otherwise name ``../`` paths (H4 of the security audit).
    """
    stem = _safe_stem(image.get("name")) or _safe_stem(image.get("id")) or "image"
    ext = image.get("disk_format")
    return f"{stem[:200]}.{ext if ext in DISK_FORMATS else 'img'}"


def _safe_stem(value: Any) -> str:
    return _UNSAFE_NAME.sub("_", str(value or "")).strip("._")


def content_disposition(image: Any) -> str:
    raw = f"{image.get('name') or image['id']}.{image.get('disk_format') or 'img'}"
    return f"attachment; filename=\"{file_name(image)}\"; filename*=UTF-8''{quote(raw, safe='')}"


def checksum_headers(image: Any) -> list[tuple[str, str]]:
    """Checksum headers, each only when Glance's value has the expected shape."""
    headers = []
    if _TOKEN.fullmatch(str(image.get("checksum") or "")):
        headers.append(("X-Image-Meta-Checksum", image["checksum"]))
    algo, value = str(image.get("os_hash_algo") or ""), str(image.get("os_hash_value") or "")
    if _TOKEN.fullmatch(algo) and _TOKEN.fullmatch(value):
        headers.append(("X-Image-Hash-Algo", algo))
        headers.append(("X-Image-Hash-Value", value))
    return headers


# --------------------------------------------------------------------------- export


_EXPORT_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW


def _write_export(target: Target, image_id: str, dir_fd: int, name: str) -> None:
    fd = os.open(name, _EXPORT_FLAGS, 0o600, dir_fd=dir_fd)
    with target.errors(), os.fdopen(fd, "wb") as out:
        for chunk in target.glance.images.data(image_id):  # digests checked
            out.write(chunk)
            time.sleep(0)


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
        raise Forbidden("imagePath must be inside the export directory")
    return resolved


def export(target: Target, image_id: str, image_path: Any) -> dict[str, Any]:
    """Write the image to ``<imagePath>/<name>.<format>`` inside the export directory.

    The file is created (mode 0600) and renamed relative to a descriptor of the
    directory, never following a symbolic link, so nothing outside it is written.
    """
    directory = export_path(staging.conf().export_dir, image_path)
    image = active_image(target, image_id)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    final = directory / file_name(image)
    partial = f".{final.name}.{uuid.uuid4().hex}.part"
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        _write_export(target, image["id"], dir_fd, partial)
        os.replace(partial, final.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except OSError as exc:
        log.error("image export of %s failed: %s", image_id, exc.strerror)
        raise UpstreamError("writing the image into the export directory failed") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial, dir_fd=dir_fd)
        os.close(dir_fd)
    return {**shape(image, target.decoration()), "imagePath": str(final), "returnCode": 1}
