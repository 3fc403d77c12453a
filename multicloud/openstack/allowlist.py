"""H1: the only hosts this service contacts on a cloud's behalf (``MULTICLOUD_CLOUD_ALLOWLIST``).

A registration's service-url and every endpoint of a cloud's catalog come from
outside; without a check they make this service a proxy into its own network
(SSRF). The check sits in the transport of every session that talks to a
cloud (:func:`guard`), so the proxy, discovery, token issue, the anonymous
version documents and the image service are all covered.

Entries are CIDR networks (every address a host name resolves to must be
inside one) or host names (``cloud.example``, ``*.example`` for any
sub-domain). Unset, any host is allowed (logged once at start-up).
NOTE: a name is resolved here and again by the HTTP library, so a DNS answer
that changes in between is not caught; list addresses, or names you control.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from functools import lru_cache
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter

from multicloud.conf import get_settings
from multicloud.exceptions import Forbidden

log = logging.getLogger(__name__)


class OutsideAllowlist(Forbidden):
    message = "the cloud's address is outside MULTICLOUD_CLOUD_ALLOWLIST"


def check_url(url: str) -> None:
    """403 unless the host of ``url`` is allowed (always when the list is unset)."""
    entries = get_settings().auth.cloud_allowlist
    if not entries:
        return
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if not host or not allowed(host, entries):
        log.warning("refused a call outside MULTICLOUD_CLOUD_ALLOWLIST (host %r)", host[:255])
        raise OutsideAllowlist()


def allowed(host: str, entries: tuple[str, ...]) -> bool:
    """Whether ``host`` (a name or an address) is inside ``entries``."""
    names, networks = _split(entries)
    if any(host == n or (n.startswith("*.") and host.endswith(n[1:])) for n in names):
        return True
    addresses = _addresses(host)
    return bool(addresses) and all(any(a in net for net in networks) for a in addresses)


@lru_cache(maxsize=8)
def _split(entries: tuple[str, ...]) -> tuple[tuple[str, ...], tuple]:
    names, networks = [], []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.append(entry)
    return tuple(names), tuple(networks)


def _addresses(host: str) -> list:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


class _GuardedAdapter(HTTPAdapter):
    """requests' HTTP adapter that checks every URL against the allow-list first."""

    def send(self, request, *args, **kwargs):
        check_url(request.url)
        return super().send(request, *args, **kwargs)


def guard(session):
    """``session`` (keystoneauth or requests) with the allow-list in its transport."""
    http = getattr(session, "session", session)
    http.mount("http://", _GuardedAdapter())
    http.mount("https://", _GuardedAdapter())
    return session


def log_policy() -> None:
    """Say once at start-up what the allow-list is."""
    entries = get_settings().auth.cloud_allowlist
    if entries:
        log.info(
            "clouds are contacted only inside MULTICLOUD_CLOUD_ALLOWLIST=%s", ",".join(entries)
        )
    else:
        log.warning(
            "MULTICLOUD_CLOUD_ALLOWLIST is unset: any host a registration names is contacted"
        )
