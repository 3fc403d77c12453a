"""Pure logic of the image service: multipart, ranges, export paths, URL allow-list."""

from __future__ import annotations

import pytest

from multicloud.exceptions import BadRequest, Forbidden, PayloadTooLarge, RangeNotSatisfiable
from multicloud.images import fetch, forms, service
from multicloud.images.metadata import parse_meta
from multicloud.images.ranges import parse_range

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


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", (0, 9)),
        ("bytes=90-", (90, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=-500", (0, 99)),
        ("bytes=95-500", (95, 99)),
        ("bytes=5-2", None),  # invalid: ignored, the whole content is served
        ("bytes=0-1,5-6", None),  # several ranges: ignored
        ("items=0-1", None),
        ("bytes=a-b", None),
    ],
)
def test_ranges(header, expected):
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=200-300", "bytes=-0"])
def test_unsatisfiable_ranges_are_416_with_the_size(header):
    with pytest.raises(RangeNotSatisfiable) as caught:
        parse_range(header, 100)
    assert caught.value.code == 416 and caught.value.headers() == [("Content-Range", "bytes */100")]


def test_export_is_off_without_a_directory_and_confined_to_it(tmp_path):
    with pytest.raises(Forbidden, match="disabled"):
        service.export_path(None, "/tmp")
    base = tmp_path / "export"
    (base / "sub").mkdir(parents=True)
    (base / "escape").symlink_to(tmp_path)
    assert service.export_path(base, "sub") == base / "sub"
    assert service.export_path(base, str(base / "new")) == base / "new"
    for outside in ("/etc", "../", "sub/../../x", str(tmp_path), "escape/x"):
        with pytest.raises(Forbidden, match="inside the export directory"):
            service.export_path(base, outside)
    with pytest.raises(BadRequest):
        service.export_path(base, 42)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "gopher://127.0.0.1/", "ftp://127.0.0.1/x", "//127.0.0.1/x"]
)
def test_only_http_urls_are_fetched(url):
    with pytest.raises(BadRequest, match="http"):
        fetch.check_url(url, ("0.0.0.0/0",))


def test_url_fetch_is_off_with_an_empty_allowlist():
    with pytest.raises(Forbidden, match="disabled"):
        fetch.check_url("http://127.0.0.1/x.img", ())


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:9292/v2/images",
        "http://localhost/x",
        "http://[::1]/x",
        "http://10.1.2.3/x",
    ],
)
def test_addresses_outside_the_allowlist_are_refused(url):
    with pytest.raises(Forbidden, match="not in MULTICLOUD_IMAGE_URL_ALLOWLIST"):
        fetch.check_url(url, ("192.0.2.0/24",))


def test_an_allowed_address_passes_and_is_returned():
    assert fetch.check_url("http://127.0.0.1:8080/a.img", ("127.0.0.0/8",)) == (
        "http://127.0.0.1:8080/a.img",
        "127.0.0.1",
    )


def test_metadata_defaults_from_the_file_name_and_validation():
    meta = parse_meta({}, "cirros-0.6.qcow2")
    assert (meta.name, meta.disk_format, meta.container_format) == ("cirros-0.6", "qcow2", "bare")
    with pytest.raises(BadRequest, match="imageType"):
        parse_meta({"name": "x", "imageType": "exe"})
    with pytest.raises(BadRequest, match="containerFormat"):
        parse_meta({"name": "x", "imageType": "raw", "containerFormat": "zip"})
    with pytest.raises(BadRequest, match="properties"):
        parse_meta({"name": "x", "imageType": "raw", "properties": "[1]"})
    with pytest.raises(BadRequest, match="attribute 'size'"):
        parse_meta({"name": "x", "imageType": "raw", "properties": {"size": "1"}})
    ok = parse_meta({"name": "x", "imageType": "RAW", "properties": '{"vmware_ostype": 1}'})
    assert ok.properties == {"vmware_ostype": "1"} and ok.disk_format == "raw"
