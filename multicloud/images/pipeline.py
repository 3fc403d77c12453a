"""Staging and uploading at once: Glance reads the staging copy while it is being written.

The request's bytes still go to disk first (hashed, capped, kept for reuse); a
second thread (a green thread under Eventlet) streams the growing file to Glance
behind the writer, so an upload costs about the slower of the two transfers
instead of their sum. Used when the image's metadata is known before its bytes.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import quote

from multicloud import transaction
from multicloud.images import pending, staging
from multicloud.images.metadata import ImageMeta
from multicloud.openstack.client import adapter, project_scope, streamed_body


def put_data(target: Any, image_id: str, stream: Any, size: int | None) -> None:
    """PUT ``stream``'s bytes as the image's data: ``size`` of them, or (None) to its end.

    NOTE: straight through the image service's keystoneauth adapter rather than
    glanceclient's ``images.upload``, which sends 64 KiB chunked pieces whatever the
    size: here a known size goes with ``Content-Length`` in 256 KiB pieces, which cost
    this worker and Glance fewer calls per byte.
    """
    with target.errors():
        adapter(target.region, "image", **project_scope(target.tenant)).put(
            f"/v2/images/{quote(image_id, safe='')}/file",
            data=streamed_body(stream, size),
            headers={"Content-Type": "application/octet-stream"},
        )


class Tail:
    """A file-like reader that follows a file another thread is still writing."""

    def __init__(self, path):
        self.cond = threading.Condition()
        self.file = open(path, "rb")  # noqa: SIM115  (closed by close())
        self.written = 0
        self.read_pos = 0
        self.done = False
        self.failed = False

    def advance(self, count: int) -> None:
        with self.cond:
            self.written += count
            self.cond.notify_all()

    def finish(self, failed: bool = False) -> None:
        with self.cond:
            self.done = True
            self.failed = failed
            self.cond.notify_all()

    def read(self, size: int = -1) -> bytes:
        with self.cond:
            while self.read_pos >= self.written and not self.done:
                self.cond.wait(5.0)
            if self.failed:
                raise OSError("the upload was abandoned while it was being received")
            available = self.written - self.read_pos
        if available <= 0:
            return b""
        data = self.file.read(available if size < 0 else min(size, available))
        self.read_pos += len(data)
        return data

    def close(self) -> None:
        self.file.close()


class Pipeline:
    """A staging writer whose bytes also flow to a new Glance image as they arrive."""

    def __init__(
        self, target: Any, meta: ImageMeta, expected_size: int | None, exact: bool = False
    ):
        """``expected_size``: at most this many bytes come (exactly this many with ``exact``)."""
        self.target = target
        self.meta = meta
        #: what Glance is told to expect (None: chunked, until the copy is finished)
        self.data_size = expected_size if exact else None
        self.writer = staging.StagingWriter(expected_size, staging.hash_for(target.region.vim_id))
        self.tail = Tail(self.writer.path)
        self.error: BaseException | None = None
        try:
            with target.errors():
                image_id = target.glance.images.create(**meta.create_kwargs())["id"]
        except BaseException:
            self._close_files()
            raise
        self.image_id: str = image_id
        pending.note(target, image_id, str(self.writer.path))
        self.thread = threading.Thread(
            target=transaction.propagating(self._push), name="image-upload", daemon=True
        )
        self.thread.start()

    def _push(self) -> None:
        try:
            put_data(self.target, self.image_id, self.tail, self.data_size)
        except BaseException as exc:  # handed to the request's thread
            self.error = exc

    def write(self, chunk: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.writer.write(chunk)
        self.writer.file.flush()
        self.tail.advance(len(chunk))

    def finish(self, meta: ImageMeta):
        """All bytes received: record the copy, let Glance finish reading; the staged record."""
        staged = self.writer.finish(meta.name, meta.disk_format, meta.container_format)
        pending.moved(self.image_id, staged.path)
        self.tail.finish()
        self.thread.join()
        self.tail.close()
        if self.error is not None:
            staging.discard(staged)
            raise self.error
        return staged

    def abort(self) -> None:
        """Stop the Glance upload and remove the partial copy (the caller deletes the image)."""
        self.tail.finish(failed=True)
        self.thread.join(60)
        self._close_files()

    def _close_files(self) -> None:
        self.tail.close()
        self.writer.abort()
