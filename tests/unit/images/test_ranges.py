"""HTTP Range requests of downloads."""

from __future__ import annotations

import pytest

from multicloud.exceptions import RangeNotSatisfiable
from multicloud.images.ranges import parse_range


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
