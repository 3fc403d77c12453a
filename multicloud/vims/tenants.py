"""Projects (tenants) of a cloud region, as its registered user sees them."""

from __future__ import annotations

from typing import Any

from keystoneauth1 import exceptions as ks_exc

from multicloud.openstack import client
from multicloud.vims.models import CloudRegion


def list_projects(record: CloudRegion, names: list[str] | None = None) -> list[dict[str, Any]]:
    """Projects of the region's domain (all of them for an admin, else the user's own)."""
    session = client.session_for(record)
    base = client.keystone_v3_url(record.identity_url)
    with client.translate_errors(f"{record.vim_id} identity service"):
        try:
            domain_id = _domain_id(session, base, record.cloud_domain)
            params = {"domain_id": domain_id} if domain_id else {}
            projects = session.get(f"{base}/projects", params=params).json()["projects"]
        except ks_exc.Forbidden:
            projects = session.get(f"{base}/auth/projects").json()["projects"]
    found = [{"id": p["id"], "name": p["name"]} for p in projects]
    if names:
        found = [p for p in found if p["name"] in names]
    return sorted(found, key=lambda p: p["name"])


def _domain_id(session, base: str, domain: str) -> str | None:
    """The id of a domain given by name or id; None when the user may not look it up."""
    try:
        domains = session.get(f"{base}/domains", params={"name": domain}).json()["domains"]
    except ks_exc.Forbidden:
        return None
    return domains[0]["id"] if domains else domain
