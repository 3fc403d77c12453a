"""Request framing, the same in both modes (RFC 9112 section 6.3).

Also the path: no dot segments, no encoded ``?``/``#`` (:func:`check_path`).
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


def check_path(path: str) -> None:
    """400 for dot segments or a ``?``/``#`` inside the (decoded) path.

    They cannot name anything here, and once relayed they would leave the
    proxied service's or plugin's prefix (``..``) or reshape the upstream URL
    (an encoded ``?`` or ``#``; M6 of the security audit).
    """
    if "?" in path or "#" in path or "\0" in path:
        raise BadRequest("the path may not contain ?, # or NUL (encoded or not)")
    if any(segment in (".", "..") for segment in path.split("/")):
        raise BadRequest("the path may not contain . or .. segments")
