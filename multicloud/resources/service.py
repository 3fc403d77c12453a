"""The framework-free core of the typed API: a project scope, its services, decoration.

Every typed call starts from a :class:`Scope`: the cloud region (404 when it is
not registered), the path's project (an id or a name; 404 when the region's
credentials cannot be scoped to it) and keystoneauth adapters on the region's
cached session for that project (:mod:`multicloud.openstack.client`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from keystoneauth1 import adapter as ks_adapter

from multicloud.exceptions import BadRequest, Conflict, NotFound
from multicloud.openstack import client
from multicloud.vims.models import CloudRegion
from multicloud.vims.service import region_fields

#: Nova microversion of every typed call: the lowest that accepts ``"networks": "none"``
#: and still answers flavor ids and the ``os-hypervisors`` fields the API shows.
NOVA_MICROVERSION = "2.37"
#: Largest page a caller may ask for.
MAX_LIMIT = 1000
#: Catalog types of the block-storage service, newest first.
CINDER_TYPES = ("block-storage", "volumev3", "volumev2", "volume")


@dataclass
class Scope:
    """One project of one cloud region, as the path names it."""

    region: CloudRegion
    tenant: str
    project_id: str
    session: Any = field(repr=False)

    def decoration(self) -> dict[str, str]:
        """The keys every typed answer carries."""
        return region_fields(self.region, self.tenant)

    def what(self, service: str) -> str:
        return f"the {service} service of {self.region.vim_id}"

    @cached_property
    def nova(self) -> ks_adapter.Adapter:
        return client.service_adapter(
            self.session, self.region, "compute", default_microversion=NOVA_MICROVERSION
        )

    @cached_property
    def neutron(self) -> ks_adapter.Adapter:
        return client.service_adapter(self.session, self.region, "network")

    @cached_property
    def glance(self) -> ks_adapter.Adapter:
        return client.service_adapter(self.session, self.region, "image")

    @cached_property
    def cinder(self) -> ks_adapter.Adapter:
        return client.service_adapter(self.session, self.region, self.cinder_type)

    @cached_property
    def cinder_type(self) -> str:
        """The block-storage type the catalog has; 404 when the region has none."""
        found = self.catalog_types()
        for kind in CINDER_TYPES:
            if kind in found:
                return kind
        raise NotFound(f"cloud region {self.region.vim_id} has no block-storage service")

    def has_cinder(self) -> bool:
        return any(kind in self.catalog_types() for kind in CINDER_TYPES)

    def catalog_types(self) -> set[str]:
        with client.translate_errors(self.what("identity")):
            access = self.session.auth.get_access(self.session)
        return {entry.get("type") for entry in access.service_catalog.catalog}

    def call(self, service: str, method: str, path: str, **kwargs: Any) -> Any:
        """A JSON call to ``nova``/``neutron``/``cinder``/``glance`` of this project."""
        return client.call(getattr(self, service), method, path, what=self.what(service), **kwargs)


def connect(record: CloudRegion, tenant: str) -> Scope:
    """The :class:`Scope` of ``tenant`` in a known region; 404 for an unknown project."""
    session, project_id = client.project_session(record, tenant)
    return Scope(record, tenant, project_id, session)


@dataclass(frozen=True)
class Page:
    """What a list asks for: ``?limit=&marker=&name=``."""

    limit: int | None = None
    marker: str | None = None
    name: str | None = None

    def params(self) -> list[tuple[str, str]]:
        """The paging parameters as the OpenStack APIs spell them."""
        found = []
        if self.limit is not None:
            found.append(("limit", str(self.limit)))
        if self.marker:
            found.append(("marker", self.marker))
        return found


NO_PAGE = Page()


def page(limit: str | None, marker: str | None, name: str | None) -> Page:
    """A :class:`Page` from query values; 400 for a limit outside 1..1000."""
    if limit is not None and not (limit.isdigit() and 1 <= int(limit) <= MAX_LIMIT):
        raise BadRequest(f"limit must be an integer between 1 and {MAX_LIMIT}", field="limit")
    return Page(int(limit) if limit else None, marker or None, name or None)


def listing(
    scope: Scope, service: str, path: str, key: str, params: list[tuple[str, str]], page: Page
) -> list[dict[str, Any]]:
    """One page of a cloud's list; a ``marker`` the cloud does not know is 400 naming it.

    NOTE: Nova says 400 for an unknown marker, Cinder 404; both become the same 400.
    """
    try:
        return scope.call(service, "GET", path, params=params)[key]
    except (BadRequest, NotFound) as exc:
        if page.marker and "upstream_status" in exc.extra:
            raise BadRequest(f"field 'marker': {exc.message}", field="marker") from None
        raise


def only_one(found: list[dict[str, Any]], kind: str, key: str) -> dict[str, Any] | None:
    """The one resource of a name lookup; None for none, 409 when the name is ambiguous."""
    if len(found) > 1:
        raise Conflict(f"{len(found)} {kind}s are named {key!r}; use the id")
    return found[0] if found else None
