"""The staging store: local copies of uploaded images, hashed while they are written.

One digest is computed on the way in: the algorithm the target region's Glance
reports (``os_hash_algo``, learned from the last image verified there; Glance's
default ``sha512`` until then). Every digest costs about as much CPU per byte as
Glance spends on its own, so the copy is never hashed three ways; a check that
needs another algorithm (another region's, or md5 for a Glance without
multihash) reads the staged file once instead (:func:`digest_of`).

A copy is written as ``<staging dir>/<uuid>-<declared size>.part`` while bytes
arrive, then renamed to ``.img`` and recorded (:class:`~multicloud.images.models.StagedImage`)
with its size and digest. Records expire after the configured retention; expired
copies are removed the next time anything is staged.

Concurrent uploads reserve their declared size: the size in a ``.part`` file's name
minus what it holds is still to come, and every free-space check counts what the
other uploads (of any worker or replica sharing the directory) still have to write.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from multicloud.conf import ImagesSettings, get_settings
from multicloud.exceptions import BadRequest, Conflict, InsufficientStorage, PayloadTooLarge
from multicloud.images.models import StagedImage

log = logging.getLogger(__name__)

#: The digest computed while bytes arrive when the region's is not known yet
#: (Glance's default ``hashing_algorithm``).
DEFAULT_HASH = "sha512"
#: Regions whose Glance algorithm is remembered per worker (the map is emptied past this).
MAX_REGIONS = 1024
_region_hash: dict[str, str] = {}

#: Re-check the free space after this many bytes of a body of unknown length.
SPACE_CHECK_EVERY = 64 << 20


def conf() -> ImagesSettings:
    return get_settings().images


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


def check_free_space(directory: Path, needed: int, margin: int) -> None:
    """507 unless ``needed`` bytes fit in ``directory`` with ``margin`` to spare."""
    free = shutil.disk_usage(directory).free
    if free - needed < margin:
        raise InsufficientStorage(
            f"not enough free space in the image staging area: {_mib(free)} free, "
            f"{_mib(needed)} needed plus a {_mib(margin)} margin"
        )


def check_declared_size(size: int | None) -> None:
    """413 at once when a declared body size is over the cap (nothing is read)."""
    limit = conf().max_size
    if size is not None and size > limit:
        raise PayloadTooLarge(f"the image is larger than the {limit}-byte limit", limit=limit)


def stale_after() -> float:
    """Seconds after which an unwritten ``.part`` file belongs to a dead upload."""
    settings = get_settings()
    return 2.0 * max(settings.request_timeout, settings.cloud_timeout)


def reserved(path: Path) -> int:
    """The declared size in a ``.part`` file's name (0 when none was declared)."""
    size = path.name.removesuffix(".part").rpartition("-")[2]
    return int(size) if size.isdigit() else 0


def outstanding(directory: Path, besides: Path | None = None) -> int:
    """Bytes the live uploads in ``directory`` (but ``besides``) have declared, not written."""
    total = 0
    live_since = time.time() - stale_after()
    for path in directory.glob("*.part"):
        declared = reserved(path)
        if path == besides or not declared:
            continue
        try:
            info = path.stat()
        except FileNotFoundError:
            continue
        if info.st_mtime >= live_since:
            total += max(0, declared - info.st_size)
    return total


def hash_for(vim_id: str | None) -> str:
    """The digest to compute while receiving an image bound for ``vim_id``."""
    return _region_hash.get(vim_id or "", DEFAULT_HASH)


def _computable(algo: str) -> bool:
    """Whether ``algo`` names a fixed-length digest hashlib can compute here."""
    return algo in hashlib.algorithms_available and not algo.startswith("shake_")


def learn_hash(vim_id: str, algo: str | None) -> None:
    """Remember the algorithm ``vim_id``'s Glance reported (one it names and we can compute)."""
    if not algo or not _computable(algo):
        return
    if len(_region_hash) >= MAX_REGIONS and vim_id not in _region_hash:
        _region_hash.clear()
    _region_hash[vim_id] = algo


def digest_of(staged: StagedImage, algo: str) -> str | None:
    """The staged copy's ``algo`` digest: recorded, or read from its file; None if unknown."""
    if algo == staged.hash_algo:
        return staged.hash_value
    if not _computable(algo):
        return None
    digest = hashlib.new(algo)
    chunk_size = conf().chunk_size
    with open(staged.path, "rb") as source:
        for chunk in iter(lambda: source.read(chunk_size), b""):
            digest.update(chunk)
            time.sleep(0)  # NOTE: a yield point for other green threads under Eventlet
    return digest.hexdigest()


class StagingWriter:
    """Writes one staged copy: size cap, free-space checks, one digest on the way."""

    def __init__(self, expected_size: int | None = None, hash_algo: str = DEFAULT_HASH):
        self.conf = conf()
        check_declared_size(expected_size)
        self.conf.staging_dir.mkdir(parents=True, exist_ok=True)
        self.expected_size = expected_size
        self.id = uuid.uuid4()
        self.path = self.conf.staging_dir / f"{self.id}-{expected_size or 0}.part"
        # NOTE: the file (naming its reservation) exists before the check, so two
        # uploads starting together each count the other: one may be refused, never both let in.
        self.file = open(self.path, "xb")  # noqa: SIM115  (closed by finish/abort)
        try:
            self._check_space(expected_size or 0)
        except BaseException:
            self.abort()
            raise
        self.size = 0
        self._next_space_check = SPACE_CHECK_EVERY
        self.hash = hashlib.new(hash_algo)

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.conf.max_size:
            raise PayloadTooLarge(
                f"the image is larger than the {self.conf.max_size}-byte limit",
                limit=self.conf.max_size,
            )
        if self.expected_size is None and self.size >= self._next_space_check:
            self._next_space_check += SPACE_CHECK_EVERY
            self._check_space(0)
        self.hash.update(chunk)
        self.file.write(chunk)

    def _check_space(self, needed: int) -> None:
        """507 unless ``needed`` more bytes fit beside what other uploads still have to write."""
        others = outstanding(self.conf.staging_dir, besides=self.path)
        check_free_space(self.conf.staging_dir, needed + others, self.conf.free_space_margin)

    def write_all(self, chunks: Iterable[bytes]) -> None:
        for chunk in chunks:
            self.write(chunk)
            # NOTE: lets other green threads run between chunks under Eventlet
            # (a no-op-cost syscall elsewhere).
            time.sleep(0)

    def finish(
        self, name: str = "", disk_format: str = "", container_format: str = ""
    ) -> StagedImage:
        """Close, rename to ``.img`` and record the copy; expires after the retention."""
        self.file.close()
        if self.size == 0:
            raise BadRequest("the image is empty: no bytes were received")
        final = self.path.with_suffix(".img")
        os.replace(self.path, final)
        self.path = final
        return StagedImage.objects.create(
            id=self.id,
            path=str(final),
            size=self.size,
            hash_algo=self.hash.name,
            hash_value=self.hash.hexdigest(),
            name=name[:255],
            disk_format=disk_format,
            container_format=container_format,
            expires=timezone.now() + timedelta(seconds=self.conf.retention),
        )

    def abort(self) -> None:
        """Remove the partial copy (idempotent)."""
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


@contextlib.contextmanager
def staging(expected_size: int | None = None, hash_algo: str = DEFAULT_HASH):
    """A :class:`StagingWriter` that is removed if the block fails."""
    writer = StagingWriter(expected_size, hash_algo)
    try:
        yield writer
    except BaseException:
        writer.abort()
        raise


def discard(staged: StagedImage) -> None:
    """Forget a staged copy and remove its file."""
    with contextlib.suppress(FileNotFoundError):
        Path(staged.path).unlink()
    StagedImage.objects.filter(pk=staged.pk).delete()


def find(staging_id: str) -> StagedImage | None:
    """The live staged copy ``staging_id``; None when unknown or expired.

    A copy recorded (the database is shared by every replica) whose file is not in this
    replica's staging area is a 409: replicas must share one staging directory.
    """
    try:
        uuid.UUID(str(staging_id))
    except ValueError:
        return None
    staged = StagedImage.objects.filter(pk=staging_id, expires__gt=timezone.now()).first()
    if staged is not None and not Path(staged.path).is_file():
        raise Conflict(
            f"staged image {staging_id} is recorded but its copy is not in this replica's "
            "staging area: every replica must mount the same MULTICLOUD_IMAGE_STAGING_DIR"
        )
    return staged


def find_by_source(vim_id: str, image_id: str) -> StagedImage | None:
    """The live staged copy that became ``image_id`` in ``vim_id``, if any."""
    for staged in StagedImage.objects.filter(
        uploads__vim_id=vim_id, uploads__image_id=image_id, expires__gt=timezone.now()
    ):
        if Path(staged.path).is_file():
            return staged
    return None


def purge_expired() -> int:
    """Remove expired copies (records and files); the number removed."""
    expired = list(StagedImage.objects.filter(expires__lte=timezone.now()))
    for staged in expired:
        discard(staged)
    if expired:
        log.info("removed %d expired staged image(s)", len(expired))
    return len(expired)


def body_chunks(stream, length: int | None, chunk_size: int) -> Iterable[bytes]:
    """Read a request body in chunks: exactly ``length`` bytes, or to EOF if unknown."""
    if stream is None:
        return
    if length is not None:
        remaining = length
        while remaining > 0:
            data = stream.read(min(chunk_size, remaining))
            if not data:
                raise BadRequest(f"the request body ended {remaining} bytes early")
            remaining -= len(data)
            yield data
        return
    while True:
        data = stream.read(chunk_size)
        if not data:
            return
        yield data


def remove_stale_parts(idle: float) -> int:
    """At start-up: remove ``*.part`` copies nothing has written to for ``idle`` seconds.

    A worker killed mid-upload leaves its partial copy behind; a live upload
    touches its file at every chunk, so only abandoned ones are this old.
    """
    removed = 0
    limit = time.time() - idle
    for path in conf().staging_dir.glob("*.part"):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
    if removed:
        log.info("removed %d stale partial staging file(s)", removed)
    return removed
