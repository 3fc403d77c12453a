"""Where a cloud's services live, and how their URLs map onto this proxy.

Pure functions over Keystone token bodies; no I/O. ``{proxy}`` is the region's
URL as the caller used it (``{base}/api/multicloud|multicloud-vio/v0/{vimid}`` or
``.../v1/{owner}/{region}``; VIO always wrote v0). Each service's catalog URL is
split into a *root* and a *version* (``http://nova:8774`` + ``/v2.1``, the project
id removed), and ``{proxy}/{name}`` stands for the root:

=======================  ==================================  =========================
catalog service type     catalog URL written (example)       served by
=======================  ==================================  =========================
identity                 ``{proxy}/identity/v3``             ``identity``
compute                  ``{proxy}/nova/v2.1/{project_id}``  ``nova``
volume, block-storage    ``{proxy}/cinder/v3/{project_id}``  ``cinder``
volumev2 / volumev3      ``{proxy}/cinderv2|v3/...``         ``cinderv2`` / ``cinderv3``
orchestration            ``{proxy}/heat/v1/{project_id}``    ``heat``
image / network / dns    ``{proxy}/glance|neutron|designate``  (+ version, if any)
=======================  ==================================  =========================

Below ``{proxy}/{name}``: a path starting with a version segment (``v2.1/...``)
goes below the root as is (what clients following the catalog send); any other
path is a VIO hand-built one (``{project}/servers``) and goes below the catalog's
version (``<root>/v2.1/{project}/servers``, which Nova, Cinder and Heat accept);
the bare ``{proxy}/{name}`` is the root's version list. The version segment is
kept in the catalog (VIO dropped it) because keystoneauth's discovery needs it to
find microversions: without it openstackclient cannot ask for compute 2.37.
Every other service (placement, key-manager, ...) is served under its catalog type,
``{proxy}/{type}`` (see :func:`proxy_name`), with its project id kept when its URL
had one, so a caller never needs to reach the cloud directly.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: Catalog service type → the proxy path segment that serves it.
PROXY_NAMES: dict[str, str] = {
    "identity": "identity",
    "compute": "nova",
    "image": "glance",
    "network": "neutron",
    "volume": "cinder",
    "block-storage": "cinder",
    "volumev2": "cinderv2",
    "volumev3": "cinderv3",
    "orchestration": "heat",
    "dns": "designate",
}
#: Every proxied service, in route-table order.
SERVICES: tuple[str, ...] = tuple(dict.fromkeys(PROXY_NAMES.values()))
#: Services whose catalog URL carries the project id (VIO: ``{name}/{project_id}``).
PROJECT_SCOPED = frozenset({"nova", "cinder", "cinderv2", "cinderv3", "heat"})

#: Path segments the per-region routes own; a service type spelled so keeps its URL.
RESERVED = frozenset(
    {"registry", "tenants", "capacity_check", "extensions", "event_subscriptions", "events"}
    | {"check_vim_status", *SERVICES}
)
_GENERIC = re.compile(r"^[a-z][a-z0-9-]*$")

_VERSION_SUFFIX = re.compile(r"/v[0-9]+(\.[0-9]+)?$")
_PROJECT_TEMPLATE = re.compile(r"/(%\(|\$\()(tenant_id|project_id)\)s$")


def proxy_name(service_type: str) -> str | None:
    """The proxy path segment of a catalog type: mapped, else the type itself if usable."""
    mapped = PROXY_NAMES.get(service_type)
    if mapped is not None:
        return mapped
    if _GENERIC.match(service_type) and service_type not in RESERVED:
        return service_type
    return None


@dataclass(frozen=True)
class Endpoints:
    """The upstream services one token may reach in one cloud region."""

    project_id: str | None
    #: proxy name → (root, version path) upstream (public interface, the region's OpenStack region).
    bases: Mapping[str, tuple[str, str]]
    #: (upstream root, proxy name) for every interface, longest root first (for rewriting).
    aliases: tuple[tuple[str, str], ...]

    def url(self, name: str, rest: str) -> str | None:
        """The upstream URL of ``{proxy}/{name}/{rest}``; None when the service is missing.

        ``rest`` starting with a version segment goes below the service root as it
        is; any other non-empty ``rest`` (a VIO path such as ``{project}/servers``)
        goes below the catalog's version. An empty ``rest`` is the root itself
        (the version list).
        """
        found = self.bases.get(name)
        if found is None:
            return None
        root, version = found
        if not rest:
            return root
        if _VERSION.match(rest.split("/", 1)[0]):
            return f"{root}/{rest}"
        return f"{root}{version}/{rest}"


_VERSION = re.compile(r"^v[0-9]+(\.[0-9]+)?$")


def split_endpoint(url: str, project_id: str | None) -> tuple[str, str]:
    """(root, version path) of a catalog URL, its project id (or template) removed."""
    url = _PROJECT_TEMPLATE.sub("", url.rstrip("/"))
    if project_id and url.endswith("/" + project_id):
        url = url[: -len(project_id) - 1]
    match = _VERSION_SUFFIX.search(url)
    if match is None:
        return url, ""
    return url[: match.start()], match.group(0)


def _endpoints_in_region(entry: Mapping[str, Any], region: str | None) -> Iterable[dict]:
    for endpoint in entry.get("endpoints") or ():
        if not region or region in (endpoint.get("region_id"), endpoint.get("region")):
            yield endpoint


def endpoints_from_catalog(
    catalog: Iterable[Mapping[str, Any]],
    project_id: str | None,
    region: str | None,
    identity_root: str,
) -> Endpoints:
    """The proxied services of a token's catalog; identity is always the registered Keystone."""
    bases: dict[str, tuple[str, str]] = {"identity": (identity_root, "/v3")}
    aliases: set[tuple[str, str]] = {(identity_root, "identity")}
    for entry in catalog:
        name = proxy_name(entry.get("type", ""))
        if name is None:
            continue
        for endpoint in _endpoints_in_region(entry, region):
            root, version = split_endpoint(endpoint.get("url", ""), project_id)
            aliases.add((root, name))
            if endpoint.get("interface") == "public" and name != "identity":
                bases.setdefault(name, (root, version))
    ordered = tuple(sorted(aliases, key=lambda item: len(item[0]), reverse=True))
    return Endpoints(project_id=project_id, bases=bases, aliases=ordered)


def proxy_catalog_url(name: str, url: str, project_id: str | None, prefix: str) -> str:
    """The catalog URL of one endpoint, pointing back at ``prefix`` (the region's proxy URL)."""
    _, version = split_endpoint(url, project_id)
    scoped = name in PROJECT_SCOPED or (name not in SERVICES and _has_project(url, project_id))
    if scoped and project_id:
        return f"{prefix}/{name}{version}/{project_id}"
    return f"{prefix}/{name}{version}"


def _has_project(url: str, project_id: str | None) -> bool:
    url = url.rstrip("/")
    return bool(_PROJECT_TEMPLATE.search(url) or (project_id and url.endswith("/" + project_id)))


def rewrite_catalog(
    catalog: list[dict[str, Any]], project_id: str | None, region: str | None, prefix: str
) -> list[dict[str, Any]]:
    """A copy of ``catalog`` whose endpoints (in ``region``) point at ``prefix``."""
    result = copy.deepcopy(catalog)
    for entry in result:
        name = proxy_name(entry.get("type", ""))
        if name is None:
            continue
        for endpoint in _endpoints_in_region(entry, region):
            endpoint["url"] = proxy_catalog_url(name, endpoint.get("url", ""), project_id, prefix)
    return result


class Rewriter:
    """Turns absolute upstream URLs into proxy URLs (JSON bodies, Location)."""

    def __init__(self, aliases: Iterable[tuple[str, str]], prefix: str):
        self.aliases = tuple(aliases)
        self.prefix = prefix

    def touches(self, raw: bytes) -> bool:
        """Whether :meth:`json` may change the JSON document ``raw`` (False: pass it as is).

        It changes only a ``catalog`` and strings starting with an upstream base, so a
        document naming neither (also with JSON's optional ``\\/`` escapes) is left alone.
        """
        if b'"catalog"' in raw:
            return True
        for base, _ in self.aliases:
            needle = base.encode()
            if needle in raw or needle.replace(b"/", b"\\/") in raw:
                return True
        return False

    def url(self, value: str) -> str:
        for base, name in self.aliases:
            if value.startswith(base) and value[len(base) : len(base) + 1] in ("", "/", "?", "#"):
                return f"{self.prefix}/{name}{value[len(base) :]}"
        return value

    def text(self, value: str) -> str:
        """Every upstream URL inside a header value (e.g. ``WWW-Authenticate: ... uri="..."``)."""
        for base, name in self.aliases:
            value = re.sub(re.escape(base) + r"(?=[/?#\"' ]|$)", f"{self.prefix}/{name}", value)
        return value

    def json(self, data: Any, region: str | None = None, project_id: str | None = None) -> Any:
        """``data`` with its URLs rewritten; a ``catalog`` (token or /auth/catalog) as above."""
        if isinstance(data, dict):
            if isinstance(data.get("token"), dict):
                token = data["token"]
                project_id = (token.get("project") or {}).get("id")
            return {
                key: (
                    rewrite_catalog(value, project_id, region, self.prefix)
                    if key == "catalog" and isinstance(value, list)
                    else self.json(value, region, project_id)
                )
                for key, value in data.items()
            }
        if isinstance(data, list):
            return [self.json(value, region, project_id) for value in data]
        if isinstance(data, str) and data.startswith(("http://", "https://")):
            return self.url(data)
        return data
