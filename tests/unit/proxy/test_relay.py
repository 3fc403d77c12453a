"""The passthrough's body and header relaying."""

from __future__ import annotations

import io

from requests.structures import CaseInsensitiveDict

from multicloud.openstack import client
from multicloud.proxy import catalog, relay

PROXY = "http://mc:9001/api/multicloud/v0/osbox_RegionOne"
CATALOG = [
    {
        "type": "image",
        "name": "glance",
        "endpoints": [
            {
                "interface": "public",
                "region": "RegionOne",
                "region_id": "RegionOne",
                "url": "http://glance:9292",
            }
        ],
    }
]


def test_an_upload_of_known_length_is_streamed_in_chunks_with_its_length():
    data = b"x" * (client.BODY_CHUNK * 2 + 5)
    body = relay.upload(io.BytesIO(data + b"trailing"), len(data), chunked=False)
    assert len(body) == len(data)
    chunks = list(body)
    assert max(len(c) for c in chunks) == client.BODY_CHUNK and b"".join(chunks) == data
    assert relay.upload(io.BytesIO(b""), None, chunked=False) is None
    chunked = relay.upload(io.BytesIO(b"abc"), None, chunked=True)
    assert b"".join(chunked) == b"abc"


class _Reply:
    url = "http://glance:9292/v2/images"
    headers = {"Location": "/v2/images/abc", "Server": "x", "ETag": "e", "Content-Length": "3"}


def test_a_relative_location_is_resolved_upstream_then_pointed_at_the_proxy():
    endpoints = catalog.endpoints_from_catalog(CATALOG, None, "RegionOne", "http://ks:5000")
    headers = relay.response_headers(_Reply(), catalog.Rewriter(endpoints.aliases, PROXY))
    assert headers == [("Location", f"{PROXY}/glance/v2/images/abc"), ("ETag", "e")]


class _JsonReply:
    """An upstream JSON answer, as requests gives it (already decoded)."""

    url = "http://glance:9292/v2/images"
    status_code = 200

    def __init__(self, body: bytes):
        self.body = body
        self.closed = False
        self.headers = CaseInsensitiveDict(
            {
                "Content-Type": "application/json; charset=UTF-8",
                "Content-Length": str(len(body)),
                "Content-Encoding": "gzip",  # requests decoded it: must not go back
                "X-Openstack-Request-Id": "req-1",
            }
        )

    def iter_content(self, size):
        yield self.body

    def close(self):
        self.closed = True


def _answer(body: bytes) -> relay.Answer:
    endpoints = catalog.endpoints_from_catalog(CATALOG, None, "RegionOne", "http://ks:5000")
    rewriter = catalog.Rewriter(endpoints.aliases, PROXY)
    return relay.answer(_JsonReply(body), rewriter, "GET", "RegionOne", "the image service")


def test_a_json_answer_naming_no_upstream_url_goes_back_byte_for_byte():
    body = b'{"images": [{"id": "a", "self": "/v2/images/a"}],  "first": "/v2/images"}'
    answer = _answer(body)
    assert answer.data is None and b"".join(answer.stream) == body
    headers = dict(answer.headers)
    assert headers["Content-Length"] == str(len(body)) and "Content-Encoding" not in headers
    assert headers["Content-Type"] == "application/json; charset=UTF-8"


def test_a_json_answer_naming_an_upstream_url_is_rewritten_escaped_or_not():
    for body in (
        b'{"links": [{"href": "http://glance:9292/v2/images/a"}]}',
        b'{"links": [{"href": "http:\\/\\/glance:9292\\/v2\\/images\\/a"}]}',
    ):
        answer = _answer(body)
        assert answer.stream is None
        assert answer.data == {"links": [{"href": f"{PROXY}/glance/v2/images/a"}]}
