"""Multipart bodies read as a stream (multicloud/images/forms.py)."""

from __future__ import annotations

import pytest

from multicloud.exceptions import BadRequest, PayloadTooLarge
from multicloud.images import forms

BOUNDARY = "xYzZY"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


class Sink:
    def __init__(self):
        self.chunks: list[bytes] = []
        self.filename = None

    def open(self, filename, fields):
        self.filename = filename
        self.fields_before = fields
        return self

    def write(self, chunk):
        self.chunks.append(bytes(chunk))


def form(*parts: tuple[str, str | None, bytes], end: bool = True) -> bytes:
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n"
        out += head.encode() + data + b"\r\n"
    return out + (f"--{BOUNDARY}--\r\n".encode() if end else b"")


def pieces(data: bytes, size: int):
    return (data[i : i + size] for i in range(0, len(data), size))


@pytest.mark.parametrize("piece", [1, 7, 64, 100_000])
def test_the_file_part_streams_to_the_writer_and_fields_before_and_after_are_kept(piece):
    payload = bytes(range(256)) * 300 + b"\r\n--not-the-boundary\r\n"
    body = form(
        ("name", None, b"cirros"), ("file", "c.qcow2", payload), ("properties", None, b'{"a": "b"}')
    )
    sink = Sink()
    fields, filename = forms.read_form(pieces(body, piece), CONTENT_TYPE, sink.open)
    assert b"".join(sink.chunks) == payload
    assert sink.fields_before == {"name": "cirros"} and sink.filename == "c.qcow2"
    assert fields == {"name": "cirros", "properties": '{"a": "b"}'} and filename == "c.qcow2"


def test_a_body_without_a_file_part_or_closing_boundary_is_refused():
    with pytest.raises(BadRequest, match="no 'file' part"):
        forms.read_form([form(("name", None, b"x"))], CONTENT_TYPE, Sink().open)
    with pytest.raises(BadRequest):
        forms.read_form([form(("file", "a", b"x"), end=False)], CONTENT_TYPE, Sink().open)


def test_a_missing_boundary_and_an_oversized_field_are_refused():
    with pytest.raises(BadRequest, match="boundary"):
        forms.read_form([b""], "multipart/form-data", Sink().open)
    big = form(("name", None, b"x" * (forms.MAX_FIELD_BYTES + 1)), ("file", "a", b"x"))
    with pytest.raises(PayloadTooLarge):
        forms.read_form([big], CONTENT_TYPE, Sink().open)
