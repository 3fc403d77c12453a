"""HTTP ``Range`` requests (RFC 9110 §14): one byte range, or the whole content."""

from __future__ import annotations

from multicloud.exceptions import RangeNotSatisfiable


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte of a single-range request, or None for all.

    A missing, malformed, multi-range or non-``bytes`` header is ignored (the whole
    content is served, as the RFC allows); a well-formed range that selects no
    byte raises :class:`RangeNotSatisfiable` (416).
    """
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.strip().partition("-")
    first_text, last_text = first_text.strip(), last_text.strip()
    if not dash or not _digits(first_text, last_text):
        return None
    if not first_text:  # suffix range: the last N bytes
        length = int(last_text)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return max(size - length, 0), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else None
    if last is not None and last < first:
        return None
    if first >= size:
        raise RangeNotSatisfiable(size)
    return first, size - 1 if last is None else min(last, size - 1)


def _digits(*texts: str) -> bool:
    present = [t for t in texts if t]
    # NOTE: 19 digits hold any real offset and stay below int()'s 4300-digit limit.
    return bool(present) and all(t.isascii() and t.isdigit() and len(t) <= 19 for t in present)


def content_range(first: int, last: int, size: int) -> str:
    return f"bytes {first}-{last}/{size}"
