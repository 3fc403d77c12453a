"""H3: the Host header must name this service (``MULTICLOUD_ALLOWED_HOSTS``).

Links this service hands out are built from ``MULTICLOUD_PUBLIC_URL`` or the
request's Host, so a Host outside the list is refused before any handler runs
(DNS rebinding, poisoned links).
"""

from __future__ import annotations

import re

from django.utils.http import is_same_domain

from multicloud.exceptions import BadRequest

_HOST = re.compile(r"^(?P<name>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:(?P<port>[0-9]{1,5}))?$")


def host_name(header: str) -> str | None:
    """The lower-case host part of a Host header value; None when malformed."""
    match = _HOST.match(header.strip())
    if match is None:
        return None
    return match.group("name").lower().removesuffix(".")


def check_host(header: str | None, allowed: tuple[str, ...]) -> None:
    """400 unless ``header`` names an allowed host (``*`` allows any well-formed one)."""
    if header is None:
        return
    name = host_name(header)
    if name is None:
        raise BadRequest("malformed Host header")
    if "*" in allowed:
        return
    if not any(is_same_domain(name, pattern.lower()) for pattern in allowed):
        raise BadRequest("the Host header names no host this service answers to")
