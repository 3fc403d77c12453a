"""Staging and uploading at once: Glance reads the staging copy while it is being written.

The request's bytes still go to disk first (hashed, capped, kept for reuse); a
second thread (a green thread under Eventlet) streams the growing file to Glance
behind the writer, so an upload costs about the slower of the two transfers
instead of their sum. Used when the image's metadata is known before its bytes.
"""

from __future__ import annotations

import threading
from typing import Any

from multicloud import transaction
from multicloud.images import pending, staging
from multicloud.images.metadata import ImageMeta


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

    def __init__(self, target: Any, meta: ImageMeta, expected_size: int | None):
        self.target = target
        self.meta = meta
        self.writer = staging.StagingWriter(expected_size)
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
            with self.target.errors():
                self.target.glance.images.upload(self.image_id, self.tail)
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
