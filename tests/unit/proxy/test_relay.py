"""The passthrough's body and header relaying."""

from __future__ import annotations

import io

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
    data = b"x" * (relay.CHUNK * 2 + 5)
    body = relay.upload(io.BytesIO(data + b"trailing"), len(data), chunked=False)
    assert len(body) == len(data)
    chunks = list(body)
    assert max(len(c) for c in chunks) == relay.CHUNK and b"".join(chunks) == data
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
