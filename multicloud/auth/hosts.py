"""H3: the Host header must name this service (``MULTICLOUD_ALLOWED_HOSTS``).

Links this service hands out are built from ``MULTICLOUD_PUBLIC_URL`` or the
request's Host, so a Host outside the list is refused before any handler runs
(DNS rebinding, poisoned links).
"""

from __future__ import annotations

import logging
import re

from django.utils.http import is_same_domain

from multicloud.conf import Settings, is_loopback
from multicloud.exceptions import BadRequest

log = logging.getLogger(__name__)

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


def log_policy(settings: Settings) -> None:
    """Say once at start-up when any Host is accepted on an address others can reach.

    Without ``MULTICLOUD_PUBLIC_URL`` the links this service hands out (``Location``,
    the proxy's catalog, the identity-url written to A&AI) are then built from
    whatever Host a caller sends.
    """
    if "*" not in settings.allowed_hosts or is_loopback(settings.host):
        return
    links = (
        ""
        if settings.public_url
        else ("; MULTICLOUD_PUBLIC_URL is unset too, so links are built from the caller's Host")
    )
    log.warning(
        "MULTICLOUD_ALLOWED_HOSTS is '*' on %s: any Host header is accepted%s "
        "(list this service's names)",
        settings.host,
        links,
    )
