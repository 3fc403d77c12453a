"""The image service: staged uploads to a cloud's Glance, downloads, metadata.

Bytes never sit whole in memory: an upload is streamed to a staging copy
(:mod:`multicloud.images.staging`) while it is hashed, then streamed from that
copy to Glance; a download is relayed chunk by chunk. Glance's digests are
checked against ours before an upload counts as done, and any failure removes
the new staging copy and the half-created Glance image.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from multicloud.exceptions import (
    BadRequest,
    Conflict,
    Forbidden,
    MulticloudError,
    NotFound,
    UpstreamError,
)
from multicloud.images import forms, staging
from multicloud.images.metadata import ImageMeta, parse_meta, shape
from multicloud.images.models import StagedImage, StagedUpload
from multicloud.images.pipeline import Pipeline
from multicloud.images.ranges import content_range, parse_range
from multicloud.openstack.client import (
    adapter,
    glance_for,
    project_scope,
    translate_glance_errors,
)
from multicloud.vims.models import CloudRegion
from multicloud.vims.service import get_region, parse_vim_id, region_fields

log = logging.getLogger(__name__)

ACTIVE_TIMEOUT = 600.0
_UNSAFE_NAME = re.compile(r"[^\w.+-]+")


@dataclass
class Target:
    """A project of a cloud region and its Glance client."""

    region: CloudRegion
    tenant: str
    glance: Any = field(repr=False)

    @property
    def what(self) -> str:
        return f"the image service of {self.region.vim_id}"

    def decoration(self) -> dict[str, str]:
        return region_fields(self.region, self.tenant)

    def errors(self):
        return translate_glance_errors(self.what)


def connect(record: CloudRegion, tenant: str) -> Target:
    """404 for an unknown project; 500 when the region's identity service is unreachable."""
    return Target(record, tenant, glance_for(record, tenant))


# --------------------------------------------------------------------------- staging


def upload_raw(target: Target, stream, length: int | None, meta: ImageMeta) -> dict[str, Any]:
    """Upload a raw request body (``Content-Length`` or chunked), staged and streamed at once."""
    conf = staging.conf()
    pipe = Pipeline(target, meta, length)
    try:
        for chunk in _cooperative(staging.body_chunks(stream, length, conf.chunk_size)):
            pipe.write(chunk)
        staged = pipe.finish(meta)
    except BaseException:
        pipe.abort()
        _delete_quietly(target, pipe.image_id)
        raise
    return complete(target, staged, pipe.image_id, new_copy=True)


def upload_form(target: Target, stream, content_type: str, length: int | None) -> dict[str, Any]:
    """Upload the ``file`` part of a multipart body; metadata from the other fields.

    When the fields before the file already say what the image is, the bytes go to
    Glance while they arrive; otherwise the file is staged first, then uploaded.
    """
    conf = staging.conf()
    forms.boundary_of(content_type)
    staging.check_declared_size(length)
    sinks: list[Pipeline | staging.StagingWriter] = []

    def open_file(filename: str | None, fields: dict[str, str]):
        try:
            early = parse_meta(fields, filename)
        except BadRequest:  # the rest may come after the file: stage first
            sinks.append(staging.StagingWriter(length))
        else:
            sinks.append(Pipeline(target, early, length))
        return sinks[-1]

    try:
        chunks = _cooperative(staging.body_chunks(stream, length, conf.chunk_size))
        fields, filename = forms.read_form(chunks, content_type, open_file)
        meta = parse_meta(fields, filename)
        sink = sinks[0]
        if isinstance(sink, Pipeline):
            _amend(target, sink, meta)
            return complete(target, sink.finish(meta), sink.image_id, new_copy=True)
        staged = sink.finish(meta.name, meta.disk_format, meta.container_format)
    except BaseException:
        for sink in sinks:
            sink.abort()
            if isinstance(sink, Pipeline):
                _delete_quietly(target, sink.image_id)
        raise
    return upload(target, staged, meta, new_copy=True)


def _amend(target: Target, pipe: Pipeline, meta: ImageMeta) -> None:
    """Apply fields that came after the file to the image being uploaded."""
    early = pipe.meta
    if (meta.disk_format, meta.container_format) != (early.disk_format, early.container_format):
        raise BadRequest("imageType/containerFormat after the file differ from those before it")
    changes: dict[str, Any] = dict(meta.properties.items() - early.properties.items())
    if meta.name != early.name:
        changes["name"] = meta.name
    if meta.visibility and meta.visibility != early.visibility:
        changes["visibility"] = meta.visibility
    if changes:
        with target.errors():
            target.glance.images.update(pipe.image_id, **changes)


def _cooperative(chunks: Iterable[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        yield chunk
        time.sleep(0)  # NOTE: a yield point for other green threads under Eventlet


def staged_source(body: dict[str, Any]) -> tuple[StagedImage, dict[str, Any]]:
    """The staged copy a distribution request names, and defaults for its metadata.

    ``{"stagingId": ...}`` or ``{"source": {"vimid": ..., "imageId": ...}}``. A
    source image no longer staged is fetched once from its region's Glance.
    """
    if body.get("stagingId"):
        staged = staging.find(str(body["stagingId"]))
        if staged is None:
            raise NotFound(f"staged image {body['stagingId']} does not exist or has expired")
        return staged, _defaults(staged)
    source = body.get("source")
    if not isinstance(source, dict) or not source.get("vimid") or not source.get("imageId"):
        raise BadRequest('give "stagingId" or "source": {"vimid": ..., "imageId": ...}')
    vim_id, image_id = str(source["vimid"]), str(source["imageId"])
    staged = staging.find_by_source(vim_id, image_id)
    if staged is not None:
        return staged, _defaults(staged)
    return _stage_from_glance(vim_id, image_id, source.get("tenantId"))


def _defaults(staged: StagedImage) -> dict[str, Any]:
    return {
        "name": staged.name,
        "imageType": staged.disk_format,
        "containerFormat": staged.container_format,
    }


def _stage_from_glance(
    vim_id: str, image_id: str, tenant: str | None
) -> tuple[StagedImage, dict[str, Any]]:
    record = get_region(*parse_vim_id(vim_id))
    source = Target(record, tenant or record.default_tenant, None)
    source.glance = glance_for(record, source.tenant)
    image = _get(source, image_id)
    with source.errors(), staging.staging(image.get("size")) as writer:
        # NOTE: glanceclient checks the digests of what it yields.
        writer.write_all(source.glance.images.data(image["id"]))
        staged = writer.finish(image["name"], image["disk_format"], image["container_format"])
    StagedUpload.objects.create(staged=staged, vim_id=record.vim_id, image_id=image["id"])
    return staged, {
        "name": image.get("name"),
        "imageType": image.get("disk_format"),
        "containerFormat": image.get("container_format"),
        "visibility": image.get("visibility"),
    }


# --------------------------------------------------------------------------- publishing


def publish(target: Target, staged: StagedImage, meta: ImageMeta) -> dict[str, Any]:
    """Create the Glance image and upload a staged copy to it, then :func:`complete`."""
    with target.errors():
        image = target.glance.images.create(**meta.create_kwargs())
    try:
        with target.errors(), open(staged.path, "rb") as data:
            target.glance.images.upload(image["id"], data, image_size=staged.size)
    except BaseException:
        _delete_quietly(target, image["id"])
        raise
    return complete(target, staged, image["id"], new_copy=False)


def complete(target: Target, staged: StagedImage, image_id: str, new_copy: bool) -> dict:
    """Wait for ``active`` and verify the digests; on failure delete the image.

    A new staged copy is discarded on failure, or at once when nothing is retained.
    """
    try:
        image = _wait_active(target, image_id)
        verify(image, staged)
    except BaseException:
        _delete_quietly(target, image_id)
        if new_copy:
            staging.discard(staged)
        raise
    StagedUpload.objects.create(staged=staged, vim_id=target.region.vim_id, image_id=image_id)
    log.info("image %s (%d bytes) uploaded to %s", image_id, staged.size, target.region.vim_id)
    if new_copy and staging.conf().retention == 0:
        staging.discard(staged)
    staging.purge_expired()
    return {**shape(image, target.decoration()), "stagingId": str(staged.id)}


def _wait_active(target: Target, image_id: str) -> Any:
    deadline = time.monotonic() + ACTIVE_TIMEOUT
    delay = 0.2
    while True:
        with target.errors():
            image = target.glance.images.get(image_id)
        if image["status"] == "active":
            return image
        if image["status"] in ("killed", "deleted", "pending_delete"):
            raise UpstreamError(f"{target.what} marked the image {image['status']}")
        if time.monotonic() > deadline:
            raise UpstreamError(f"{target.what} did not make the image active in time")
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


def verify(image: Any, staged: StagedImage) -> None:
    """502 unless Glance's size and digests are those of the staged copy."""
    ours = {"sha512": staged.sha512, "sha256": staged.sha256}
    algo = image.get("os_hash_algo")
    problems = []
    if image.get("size") != staged.size:
        problems.append(f"size {image.get('size')} != {staged.size}")
    if algo in ours and image.get("os_hash_value") != ours[algo]:
        problems.append(f"{algo} differs")
    if image.get("checksum") and image["checksum"] != staged.md5:
        problems.append("md5 differs")
    if problems:
        raise UpstreamError(
            f"the image stored by Glance does not match the upload ({'; '.join(problems)})"
        )


def _delete_quietly(target: Target, image_id: str) -> None:
    try:
        with target.errors():
            target.glance.images.delete(image_id)
        log.info("removed half-created image %s from %s", image_id, target.region.vim_id)
    except MulticloudError as exc:
        log.error("could not remove half-created image %s: %s", image_id, exc.message)


def upload(target: Target, staged: StagedImage, meta: ImageMeta, new_copy: bool) -> dict:
    """Publish a staged copy; a new one is discarded if that fails."""
    try:
        return publish(target, staged, meta)
    except BaseException:
        if new_copy:
            staging.discard(staged)
        raise


# --------------------------------------------------------------------------- metadata API


def _get(target: Target, image_id: str) -> Any:
    with target.errors():
        return target.glance.images.get(image_id)


def get_image(target: Target, image_id: str) -> dict[str, Any]:
    return {**shape(_get(target, image_id), target.decoration())}


def list_images(
    target: Target, name: str | None, limit: int | None, marker: str | None
) -> dict[str, Any]:
    filters = {"name": name} if name else {}
    kwargs: dict[str, Any] = {"filters": filters}
    if limit is not None:
        kwargs["limit"] = limit
    if marker:
        kwargs["marker"] = marker
    with target.errors():
        images = [shape(image, {}) for image in target.glance.images.list(**kwargs)]
    return {"images": images, **target.decoration()}


def delete_image(target: Target, image_id: str) -> None:
    with target.errors():
        target.glance.images.delete(image_id)


def find_by_name(target: Target, name: str) -> Any | None:
    with target.errors():
        return next(iter(target.glance.images.list(filters={"name": name}, limit=1)), None)


# --------------------------------------------------------------------------- download


@dataclass
class Download:
    status: int
    headers: list[tuple[str, str]]
    chunks: Iterable[bytes]


def download(target: Target, image_id: str, range_header: str | None, head: bool) -> Download:
    """The image's bytes (or one range of them) with their headers."""
    image = _active(target, image_id)
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


def _active(target: Target, image_id: str) -> Any:
    image = _get(target, image_id)
    if image["status"] != "active":
        raise Conflict(f"image {image_id} is {image['status']}, not active: it has no data yet")
    return image


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
    image = _active(target, image_id)
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
