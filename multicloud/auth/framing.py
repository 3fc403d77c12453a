"""Request framing, the same in both modes (RFC 9112 section 6.3).

A request with both ``Content-Length`` and ``Transfer-Encoding``, a
``Content-Length`` that is not a plain non-negative number, or two different
lengths is 400 before any byte of its body is read or relayed.
"""

from __future__ import annotations

from multicloud.exceptions import BadRequest


def check_framing(headers) -> None:
    """400 for an ambiguous or malformed body length."""
    length = headers.get("content-length")
    if length is None or length == "":
        return
    if headers.get("transfer-encoding"):
        raise BadRequest("Content-Length and Transfer-Encoding are not allowed together")
    values = {v.strip() for v in str(length).split(",")}
    if len(values) != 1 or not all(v.isascii() and v.isdigit() for v in values):
        raise BadRequest("Content-Length must be one non-negative number")
