"""The image service: staged uploads to a cloud's Glance, and image metadata.

Bytes never sit whole in memory: an upload is streamed to a staging copy
(:mod:`multicloud.images.staging`) while it is hashed, then streamed from that
copy to Glance (downloads: :mod:`multicloud.images.download`). Glance's digests are
checked against ours before an upload counts as done, and any failure removes
the new staging copy and the half-created Glance image.

An upload reads as steps: *receive* the body into a staging copy
(:func:`upload_raw`, :func:`upload_form`; :func:`upload_json` names a copy
already staged), :func:`create_image`, :func:`send_bytes` (the staged copy to
that image), then :func:`finish_upload` (:func:`wait_verified`: Glance says
``active`` with our digests; then the copy is recorded). Raw and multipart
bodies whose metadata comes first are sent while they are received (a
:class:`~multicloud.images.pipeline.Pipeline` creates the image and sends the
growing copy). Metadata is parsed here, for every body kind.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from multicloud.exceptions import (
    BadRequest,
    Conflict,
    MulticloudError,
    NotFound,
    UpstreamError,
)
from multicloud.images import forms, pending, staging
from multicloud.images.metadata import ImageMeta, parse_meta, shape
from multicloud.images.models import StagedImage, StagedUpload
from multicloud.images.pipeline import Pipeline, put_data
from multicloud.openstack.client import (
    glance_for,
    translate_glance_errors,
)
from multicloud.vims.models import CloudRegion
from multicloud.vims.service import get_region, parse_vim_id, region_fields

log = logging.getLogger(__name__)

ACTIVE_TIMEOUT = 600.0
#: Most images one list answers without ``?limit=`` (page on with ``?marker=``).
MAX_LISTED = 10000
#: The metadata fields of an upload (form fields, query parameters or JSON keys).
META_KEYS = ("name", "imageType", "containerFormat", "visibility", "properties")


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


def upload_json(target: Target, body: dict[str, Any]) -> dict[str, Any]:
    """Upload a copy already staged, named by ``stagingId`` or ``source`` (distribution)."""
    staged, defaults = staged_source(body)
    meta = parse_meta({**defaults, **{k: body[k] for k in META_KEYS if k in body}})
    return upload_staged(target, staged, meta, new_copy=False)


def upload_raw(
    target: Target,
    stream: Any,
    length: int | None,
    values: Mapping[str, Any],
    filename: str | None = None,
) -> dict[str, Any]:
    """Upload a raw body (``Content-Length`` or chunked), staged and sent at once.

    ``values`` holds the metadata (``META_KEYS``; the query of a request), ``filename`` the
    file's name for defaults.
    """
    meta = parse_meta(values, filename)
    conf = staging.conf()
    pipe = Pipeline(target, meta, length, exact=True)
    try:
        for chunk in _cooperative(staging.body_chunks(stream, length, conf.chunk_size)):
            pipe.write(chunk)
        staged = pipe.finish(meta)
    except BaseException:
        pipe.abort()
        delete_quietly(target, pipe.image_id)
        raise
    return finish_upload(target, staged, pipe.image_id, new_copy=True)


def upload_form(
    target: Target,
    stream,
    content_type: str,
    length: int | None,
    check: Callable[[ImageMeta], None] = lambda meta: None,
) -> dict[str, Any]:
    """Upload the ``file`` part of a multipart body; metadata from the other fields.

    When the fields before the file already say what the image is, the bytes go to
    Glance while they arrive; otherwise the file is staged first, then uploaded.
    ``check`` sees the metadata before anything is created (it may raise).
    """
    conf = staging.conf()
    forms.boundary_of(content_type)
    staging.check_declared_size(length)
    sinks: list[Pipeline | staging.StagingWriter] = []

    def open_file(filename: str | None, fields: dict[str, str]):
        try:
            early = parse_meta(fields, filename)
        except BadRequest:  # the rest may come after the file: stage first
            sinks.append(staging.StagingWriter(length, staging.hash_for(target.region.vim_id)))
        else:
            check(early)
            sinks.append(Pipeline(target, early, length))
        return sinks[-1]

    try:
        chunks = _cooperative(staging.body_chunks(stream, length, conf.chunk_size))
        fields, filename = forms.read_form(chunks, content_type, open_file)
        meta = parse_meta(fields, filename)
        check(meta)
        sink = sinks[0]
        if isinstance(sink, Pipeline):
            _amend(target, sink, meta)
            return finish_upload(target, sink.finish(meta), sink.image_id, new_copy=True)
        staged = sink.finish(meta.name, meta.disk_format, meta.container_format)
    except BaseException:
        for sink in sinks:
            sink.abort()
            if isinstance(sink, Pipeline):
                delete_quietly(target, sink.image_id)
        raise
    return upload_staged(target, staged, meta, new_copy=True)


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
    source = connect(record, tenant or record.default_tenant)
    image = _get(source, image_id)
    algo = image.get("os_hash_algo") or staging.DEFAULT_HASH
    with source.errors(), staging.staging(image.get("size"), algo) as writer:
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


# --------------------------------------------------------------------------- sending


def upload_staged(target: Target, staged: StagedImage, meta: ImageMeta, new_copy: bool) -> dict:
    """:func:`send_staged` a staged copy; a new copy is discarded if that fails."""
    try:
        return send_staged(target, staged, meta)
    except BaseException:
        if new_copy:
            staging.discard(staged)
        raise


def send_staged(target: Target, staged: StagedImage, meta: ImageMeta) -> dict[str, Any]:
    """Create the Glance image, send it the staged bytes, then :func:`finish_upload`."""
    image_id = create_image(target, meta, staged.path)["id"]
    try:
        send_bytes(target, image_id, staged)
    except BaseException:
        delete_quietly(target, image_id)
        raise
    return finish_upload(target, staged, image_id, new_copy=False)


def create_image(target: Target, meta: ImageMeta, path: str = "") -> Any:
    """A new Glance image (no data yet), as Glance answered; noted until it is finished.

    ``path``: the staged file its bytes will come from (empty: not staged yet).
    """
    with target.errors():
        image = target.glance.images.create(**meta.create_kwargs())
    pending.note(target, image["id"], path)
    return image


def send_bytes(target: Target, image_id: str, staged: StagedImage) -> None:
    """Upload a staged copy's bytes to an existing Glance image."""
    with open(staged.path, "rb") as data:
        put_data(target, image_id, data, staged.size)


def finish_upload(target: Target, staged: StagedImage, image_id: str, new_copy: bool) -> dict:
    """:func:`wait_verified`, then record the copy; on failure delete the image.

    A new staged copy is discarded on failure, or at once when nothing is retained.
    """
    try:
        image = wait_verified(target, image_id, staged)
    except BaseException:
        delete_quietly(target, image_id)
        if new_copy:
            staging.discard(staged)
        raise
    StagedUpload.objects.create(staged=staged, vim_id=target.region.vim_id, image_id=image_id)
    pending.done(target.region.vim_id, image_id)
    log.info("image %s (%d bytes) uploaded to %s", image_id, staged.size, target.region.vim_id)
    if new_copy and staging.conf().retention == 0:
        staging.discard(staged)
    staging.purge_expired()
    return {**shape(image, target.decoration()), "stagingId": str(staged.id)}


def wait_verified(target: Target, image_id: str, staged: StagedImage) -> Any:
    """The image once Glance says ``active``, checked against the staged copy (502 if not)."""
    image = _wait_active(target, image_id)
    verify(image, staged)
    staging.learn_hash(target.region.vim_id, image.get("os_hash_algo"))
    return image


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
    """502 unless Glance's size and digest are those of the staged copy.

    The digest checked is Glance's multihash (``os_hash_algo``/``os_hash_value``) when it
    reports one we can compute, else its md5 ``checksum`` (a Glance without multihash).
    """
    problems = []
    if image.get("size") != staged.size:
        problems.append(f"size {image.get('size')} != {staged.size}")
    algo, value = image.get("os_hash_algo"), image.get("os_hash_value")
    ours = staging.digest_of(staged, algo) if algo and value else None
    if ours is not None:
        if value != ours:
            problems.append(f"{algo} differs")
    elif image.get("checksum") and image["checksum"] != staging.digest_of(staged, "md5"):
        problems.append("md5 differs")
    if problems:
        raise UpstreamError(
            f"the image stored by Glance does not match the upload ({'; '.join(problems)})"
        )


def delete_quietly(target: Target, image_id: str) -> None:
    """Remove a half-created image, logging (not raising) a failure."""
    try:
        with target.errors():
            target.glance.images.delete(image_id)
        log.info("removed half-created image %s from %s", image_id, target.region.vim_id)
    except NotFound:
        pass
    except MulticloudError as exc:
        # NOTE: its note stays, so the next start-up tries again.
        log.error("could not remove half-created image %s: %s", image_id, exc.message)
        return
    pending.done(target.region.vim_id, image_id)


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
    most = limit or MAX_LISTED
    kwargs: dict[str, Any] = {"filters": filters, "limit": most}
    if marker:
        kwargs["marker"] = marker
    with target.errors():
        # NOTE: glanceclient follows Glance's next links; the cap ends a cloud's endless pages.
        listed = itertools.islice(target.glance.images.list(**kwargs), most)
        images = [shape(image, {}) for image in listed]
    return {"images": images, **target.decoration()}


def delete_image(target: Target, image_id: str) -> None:
    with target.errors():
        target.glance.images.delete(image_id)


def active_image(target: Target, image_id: str) -> Any:
    """The image, 409 unless it is ``active`` (has data)."""
    image = _get(target, image_id)
    if image["status"] != "active":
        raise Conflict(f"image {image_id} is {image['status']}, not active: it has no data yet")
    return image


def find_by_name(target: Target, name: str) -> Any | None:
    with target.errors():
        return next(iter(target.glance.images.list(filters={"name": name}, limit=1)), None)
