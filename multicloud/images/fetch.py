"""Create-by-URL: fetch an image over http(s) in the background, from allowed addresses only.

The server fetching a caller-chosen URL is an SSRF risk, so: only ``http`` and
``https``; the host is resolved and *every* address must lie in
``MULTICLOUD_IMAGE_URL_ALLOWLIST`` (empty, the default, turns the feature off);
redirects are followed by hand and checked the same way; plain-http requests
go to the checked address itself, so a second DNS answer cannot redirect them.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests

from multicloud import jobs
from multicloud.exceptions import BadRequest, Forbidden, MulticloudError, UpstreamError
from multicloud.images import pending, service, staging
from multicloud.images.metadata import ImageMeta, parse_meta, shape

log = logging.getLogger(__name__)

MAX_REDIRECTS = 3
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0


def check_url(url: Any, allowlist: tuple[str, ...]) -> tuple[str, str]:
    """(url, checked address) for an allowed http(s) URL; 400 or 403 otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise BadRequest("imagePath must be an http:// or https:// URL")
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https"):
        raise BadRequest(f"imagePath must be an http:// or https:// URL, not {parts.scheme!r}:")
    if not allowlist:
        raise Forbidden(
            "creating an image from a URL is disabled: list the networks it may fetch from "
            "in MULTICLOUD_IMAGE_URL_ALLOWLIST"
        )
    host = parts.hostname
    if not host:
        raise BadRequest("imagePath has no host")
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    addresses = _resolve(host, port)
    networks = [ipaddress.ip_network(n, strict=False) for n in allowlist]
    for address in addresses:
        ip = ipaddress.ip_address(address)
        if not any(ip.version == n.version and ip in n for n in networks):
            # NOTE: the address goes to the log only: a DNS answer in an error body would make
            # this route a resolver of the service's network (M4 of the security audit).
            log.warning("imagePath host %r resolves to %s, outside the allow-list", host, ip)
            raise Forbidden(
                f"imagePath host {host} resolves to an address outside "
                "MULTICLOUD_IMAGE_URL_ALLOWLIST"
            )
    return url.strip(), addresses[0]


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        log.warning("imagePath host %r cannot be resolved: %s", host, exc)
        raise BadRequest(f"imagePath host {host!r} cannot be resolved") from None
    addresses = [str(info[4][0]).split("%", 1)[0] for info in infos]
    if not addresses:
        raise BadRequest(f"imagePath host {host!r} has no address")
    return addresses


def create_from_url(
    body: dict[str, Any], connect: Callable[[], service.Target]
) -> tuple[dict[str, Any], bool]:
    """Create-by-URL: (the image, True) once its fetch has started; (the existing one, False).

    ``body``: ``{"name", "imagePath": URL, ...metadata}``, checked (400/403) before
    ``connect`` reaches the cloud. An image of that name already there is answered as is.
    """
    meta = parse_meta(body)
    url, _ = check_url(body.get("imagePath"), staging.conf().url_allowlist)
    target = connect()
    existing = service.find_by_name(target, meta.name)
    if existing is not None:
        return shape(existing, target.decoration()), False
    image = service.create_image(target, meta)
    start(target, image["id"], url, meta)
    return shape(image, target.decoration()), True


def start(target: service.Target, image_id: str, url: str, meta: ImageMeta) -> jobs.Job:
    """Fetch ``url`` and upload it to ``image_id`` in a background job (a bounded pool)."""
    return jobs.start(f"image-fetch-{image_id}", run, target, image_id, url, meta)


def run(target: service.Target, image_id: str, url: str, meta: ImageMeta) -> None:
    """One unit of work: fetch into staging, upload, verify; on failure delete the image."""
    from django.db import close_old_connections

    staged = None
    try:
        with staging.staging(None, staging.hash_for(target.region.vim_id)) as writer:
            pending.moved(image_id, writer.path)
            writer.write_all(_fetch(url))
            staged = writer.finish(meta.name, meta.disk_format, meta.container_format)
            pending.moved(image_id, staged.path)
        service.send_bytes(target, image_id, staged)
        service.wait_verified(target, image_id, staged)
        pending.done(target.region.vim_id, image_id)
        log.info("image %s fetched from a URL and uploaded (%d bytes)", image_id, staged.size)
    except Exception as exc:
        # NOTE: never the URL itself: its path or query may carry a token (L4).
        message = exc.message if isinstance(exc, MulticloudError) else type(exc).__name__
        log.error("creating image %s from a URL failed: %s", image_id, message)
        service.delete_quietly(target, image_id)
    finally:
        if staged is not None:
            staging.discard(staged)
        close_old_connections()


def _fetch(url: str) -> Iterator[bytes]:
    allowlist = staging.conf().url_allowlist
    chunk_size = staging.conf().chunk_size
    for _ in range(MAX_REDIRECTS + 1):
        url, address = check_url(url, allowlist)
        response = _get(url, address)
        if response.is_redirect:
            url = urljoin(url, response.headers.get("Location", ""))
            response.close()
            continue
        if response.status_code != 200:
            response.close()
            raise UpstreamError(f"fetching the image URL answered {response.status_code}")
        with response:
            yield from response.iter_content(chunk_size)
        return
    raise UpstreamError(f"fetching the image URL: more than {MAX_REDIRECTS} redirects")


def _get(url: str, address: str) -> requests.Response:
    parts = urlsplit(url)
    headers = {}
    if parts.scheme.lower() == "http":
        # NOTE: connect to the address we checked, not to a fresh DNS answer.
        host = f"[{address}]" if ":" in address else address
        netloc = f"{host}:{parts.port}" if parts.port else host
        headers["Host"] = parts.netloc.rsplit("@", 1)[-1]
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return requests.get(
        url,
        headers=headers,
        stream=True,
        allow_redirects=False,
        timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
    )
