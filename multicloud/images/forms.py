"""Streaming ``multipart/form-data`` reading on top of the ``multipart`` push parser.

Text fields are kept (each capped); the one ``file`` part is handed, chunk by
chunk, to a writer and never held in memory. Fields may come before or after
the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

import multipart

from multicloud.exceptions import BadRequest, PayloadTooLarge

FILE_FIELD = "file"
MAX_FIELD_BYTES = 64 << 10
MAX_PARTS = 32


class Writer(Protocol):
    def write(self, chunk: bytes) -> None: ...


def boundary_of(content_type: str) -> str:
    """The boundary parameter of a multipart Content-Type; 400 if missing."""
    kind, options = multipart.parse_options_header(content_type)
    boundary = options.get("boundary")
    if kind != "multipart/form-data" or not boundary:
        raise BadRequest("expected multipart/form-data with a boundary")
    return boundary


def read_form(
    chunks: Iterable[bytes],
    content_type: str,
    open_file: Callable[[str | None, dict[str, str]], Writer],
) -> tuple[dict[str, str], str | None]:
    """Parse the body: (text fields, file name of the ``file`` part).

    ``open_file(filename, fields so far)`` is called when the file part starts
    and returns the writer its bytes go to. 400 when the body is malformed or has no file part.
    """
    parser = multipart.PushMultipartParser(
        boundary_of(content_type), max_segment_count=MAX_PARTS, max_header_count=16
    )
    state = _FormState(open_file)
    try:
        for chunk in chunks:
            for event in parser.parse(chunk):
                state.feed(event)
        for event in parser.parse(b""):
            state.feed(event)
    except multipart.ParserLimitReached as exc:
        raise BadRequest(f"multipart body: {exc}") from None
    except multipart.ParserError as exc:
        raise BadRequest(f"malformed multipart body: {exc}") from None
    if not parser.closed:
        raise BadRequest("the multipart body ended before its closing boundary")
    if not state.has_file:
        raise BadRequest(f"the multipart body has no {FILE_FIELD!r} part")
    return state.fields, state.filename


class _FormState:
    def __init__(self, open_file: Callable[[str | None, dict[str, str]], Writer]):
        self.open_file = open_file
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.has_file = False
        self.writer: Writer | None = None
        self.name: str | None = None
        self.buffer = bytearray()

    def feed(self, event) -> None:
        if isinstance(event, multipart.MultipartSegment):
            self._start(event)
        elif event is None:
            self._end()
        elif self.writer is not None:
            self.writer.write(event)
        else:
            self.buffer += event
            if len(self.buffer) > MAX_FIELD_BYTES:
                raise PayloadTooLarge(f"form field {self.name!r} exceeds {MAX_FIELD_BYTES} bytes")

    def _start(self, segment) -> None:
        self.name = segment.name
        if segment.name == FILE_FIELD:
            if self.has_file:
                raise BadRequest(f"more than one {FILE_FIELD!r} part")
            self.has_file = True
            self.filename = segment.filename
            self.writer = self.open_file(segment.filename, dict(self.fields))
        else:
            self.buffer = bytearray()

    def _end(self) -> None:
        if self.writer is None and self.name is not None:
            try:
                self.fields[self.name] = self.buffer.decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequest(f"form field {self.name!r} is not UTF-8 text") from None
        self.writer = None
        self.name = None
