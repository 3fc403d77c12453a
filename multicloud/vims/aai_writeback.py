"""Write a discovered cloud back into A&AI, reconcile it, and take it out again.

Objects are written through their own URLs, child by child, with the A&AI
client's version rules. A :class:`Footprint` (stored on the region) lists what
this service created, and is updated *before* each create is sent, so a job cut
short (A&AI down) leaves nothing a rerun or an unregistration cannot find.
Objects that existed before (written by ESR, SO or an operator) are updated but
never removed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from multicloud.aai.client import AaiClient, AaiError, cloud_region_path, path_of
from multicloud.vims import hpa, service
from multicloud.vims.models import AaiFootprint, CloudRegion

log = logging.getLogger(__name__)

#: Removal order: A&AI refuses to delete an AZ with member pservers, a flavor with
#: capabilities, a region's children before ... (so leaves first).
REMOVAL_ORDER = (
    "pservers",
    "availability-zones",
    "images",
    "hpa-feature-attributes",
    "hpa-capabilities",
    "flavors",
    "tenants",
)
CATEGORIES = REMOVAL_ORDER
#: A&AI's "Node cannot be deleted": someone else's objects still use it.
IN_USE = "ERR.5.4.6110"


class Footprint:
    """What this service created in A&AI for one region (persisted as it changes)."""

    def __init__(self, record: AaiFootprint):
        self.record = record
        written = record.written or {}
        self.owned: dict[str, set[str]] = {c: set(written.get(c, [])) for c in CATEGORIES}
        self.edges: set[tuple[str, str, str]] = {tuple(e) for e in written.get("edges", [])}
        self.kept: dict[str, str] = {}

    def save(self) -> None:
        self.record.written = {
            **{c: sorted(p) for c, p in self.owned.items() if p},
            "edges": sorted(list(e) for e in self.edges),
        }
        self.record.kept = [{"path": p, "reason": r} for p, r in sorted(self.kept.items())]
        self.record.save(update_fields=["written", "kept", "identity_url"])

    def claim(self, category: str, path: str) -> Callable[[], None]:
        def note() -> None:
            self.owned[category].add(path)
            self.save()

        return note

    def summary(self) -> dict[str, int]:
        return {c: len(p) for c, p in self.owned.items() if p}


class Writer:
    """Writes one region's discovered objects to A&AI."""

    def __init__(self, aai: AaiClient, record: CloudRegion, footprint: Footprint):
        self.aai = aai
        self.record = record
        self.footprint = footprint
        self.region_path = cloud_region_path(record.cloud_owner, record.cloud_region_id)
        #: Zones of ours the cloud no longer has; removed after the pservers.
        self.stale_zones: set[str] = set()

    # ------------------------------------------------------------------ writing

    def write(self, found: dict[str, Any], extras: dict[str, Any]) -> None:
        """Tenants, flavors + HPA, images, AZs, pservers, then the identity-url."""
        try:
            if "tenants" not in found["errors"]:
                self.sync("tenants", self.tenants(found["tenants"]))
            if "flavors" not in found["errors"]:
                self.flavors(found["flavors"], extras["extra_specs"])
            if "images" not in found["errors"]:
                self.sync("images", self.images(found["images"]))
            if "availability-zones" not in found["errors"]:
                self.zones(found["availability-zones"])
            if "hypervisors" not in found["errors"]:
                self.pservers(found["hypervisors"], extras["zone_of_host"])
            for path in sorted(self.stale_zones):
                self.remove("availability-zones", path)
            self.identity_url()
        finally:
            self.footprint.save()

    def child(self, container: str, singular: str, *keys: str) -> str:
        return self.region_path + path_of(container, singular, *keys)

    def sync(self, category: str, desired: dict[str, dict[str, Any]], prefix: str = "") -> None:
        """Write every desired object; remove ours (under ``prefix``) that are gone."""
        for path, body in desired.items():
            self.aai.put(path, body, before_create=self.footprint.claim(category, path))
        stale = [p for p in self.footprint.owned[category] if p.startswith(prefix)]
        for path in sorted(set(stale) - desired.keys()):
            self.remove(category, path)

    def tenants(self, projects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {
            self.child("tenants", "tenant", p["id"]): {
                "tenant-id": p["id"],
                "tenant-name": p["name"],
            }
            for p in projects
        }

    def flavors(self, flavors: list[dict[str, Any]], specs: dict[str, dict[str, str]]) -> None:
        desired = {self.child("flavors", "flavor", str(f["id"])): f for f in flavors}
        for path, flavor in desired.items():
            self.aai.put(path, _flavor_body(flavor), self.footprint.claim("flavors", path))
            caps = []
            if hpa.wants_hpa(str(flavor.get("name") or "")):
                caps = hpa.capabilities(flavor, specs.get(str(flavor["id"]), {}), self.extra_info())
            self.capabilities(path, caps)
        for path in sorted(self.footprint.owned["flavors"] - desired.keys()):
            self.remove_flavor(path)

    def capabilities(self, flavor_path: str, caps: list[dict[str, Any]]) -> None:
        desired = {}
        for cap in caps:
            path = flavor_path + path_of(
                "hpa-capabilities", "hpa-capability", cap["hpa-capability-id"]
            )
            desired[path] = {k: v for k, v in cap.items() if k != "attributes"}
        self.sync("hpa-capabilities", desired, prefix=flavor_path + "/")
        for cap in caps:
            path = flavor_path + path_of(
                "hpa-capabilities", "hpa-capability", cap["hpa-capability-id"]
            )
            self.sync("hpa-feature-attributes", _attributes(path, cap), prefix=path + "/")

    def images(self, images: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        base = self.proxy_base()
        return {
            self.child("images", "image", i["id"]): {
                "image-id": i["id"],
                "image-name": i.get("name") or i["id"],
                "image-selflink": f"{base}/glance/v2/images/{i['id']}",
                "image-os-distro": i.get("os_distro") or "Unknown",
                "image-os-version": i.get("os_version") or "Unknown",
                **({"image-architecture": i["architecture"]} if i.get("architecture") else {}),
            }
            for i in images
        }

    def zones(self, zones: list[dict[str, Any]]) -> None:
        desired = {
            self.child("availability-zones", "availability-zone", z["name"]): {
                "availability-zone-name": z["name"],
                "operational-status": "available" if z.get("available") else "unavailable",
                "hypervisor-type": "QEMU",
            }
            for z in zones
            if z["name"] != "internal"
        }
        # NOTE: stale zones go after the pservers (an AZ with members cannot be deleted).
        for path, body in desired.items():
            self.aai.put(path, body, self.footprint.claim("availability-zones", path))
        self.stale_zones = self.footprint.owned["availability-zones"] - desired.keys()

    def pservers(self, hypervisors: list[dict[str, Any]], zone_of_host: dict[str, str]) -> None:
        owner, region = self.record.cloud_owner, self.record.cloud_region_id
        desired: dict[str, tuple[dict[str, Any], str | None]] = {}
        for hyp in hypervisors:
            name = str(hyp.get("hypervisor_hostname") or hyp["id"])
            hostname = f"{owner}_{region}_{name}"
            host = (hyp.get("service") or {}).get("host") or name
            desired[path_of("cloud-infrastructure", "pservers", "pserver", hostname)] = (
                _pserver_body(hostname, hyp),
                zone_of_host.get(host),
            )
        for path, (body, zone) in desired.items():
            self.aai.put(path, body, self.footprint.claim("pservers", path))
            self.pserver_edges(path, zone)
        for path in sorted(self.footprint.owned["pservers"] - desired.keys()):
            self.remove("pservers", path)

    def pserver_edges(self, path: str, zone: str | None) -> None:
        wanted = {("cloud-region", self.region_path)}
        if zone:
            wanted.add(
                ("availability-zone", self.child("availability-zones", "availability-zone", zone))
            )
        ours = {(t, to) for frm, t, to in self.footprint.edges if frm == path}
        for related_to, target in sorted(ours - wanted):
            self.unrelate(path, related_to, target)
        for related_to, target in sorted(wanted):
            self.aai.relate(path, related_to, target)
            self.footprint.edges.add((path, related_to, target))

    def identity_url(self) -> None:
        """Point the region's identity-url at this service's identity proxy."""
        fp = self.footprint.record
        current = self.aai.get(self.region_path) or {}
        if current.get("identity-url") != fp.identity_url:
            if not fp.wrote_identity_url:
                fp.previous_identity_url = current.get("identity-url", "")
                fp.wrote_identity_url = True
                fp.save(update_fields=["previous_identity_url", "wrote_identity_url"])
            self.aai.put(self.region_path, {"identity-url": fp.identity_url})

    def proxy_base(self) -> str:
        return self.footprint.record.identity_url.removesuffix("/identity/v3")

    def extra_info(self) -> dict[str, Any]:
        return service.extra_info(self.record.attributes.get("cloud-extra-info"))

    # ------------------------------------------------------------------ removing

    def remove(self, category: str, path: str) -> None:
        """Delete one object we created; one that others still use stays (noted)."""
        try:
            self.aai.delete(path)
        except AaiError as exc:
            if exc.extra.get("aai_code") != IN_USE:
                raise
            log.info("A&AI keeps %s: %s", path, exc.message)
            self.footprint.kept[path] = exc.message
            return
        self.footprint.owned[category].discard(path)
        self.footprint.kept.pop(path, None)
        self.footprint.edges = {e for e in self.footprint.edges if e[0] != path and e[2] != path}
        for child_category in ("hpa-capabilities", "hpa-feature-attributes"):
            self.footprint.owned[child_category] = {
                p for p in self.footprint.owned[child_category] if not p.startswith(path + "/")
            }

    def remove_flavor(self, path: str) -> None:
        for cap in sorted(
            p for p in self.footprint.owned["hpa-capabilities"] if p.startswith(path + "/")
        ):
            self.remove("hpa-capabilities", cap)
        self.remove("flavors", path)

    def unrelate(self, path: str, related_to: str, target: str) -> None:
        try:
            self.aai.unrelate(path, related_to, target)
        except AaiError as exc:
            if exc.status != 404:
                raise
        self.footprint.edges.discard((path, related_to, target))

    def remove_all(self) -> None:
        """Unregistration: our objects out of A&AI, in an order A&AI allows."""
        try:
            ours = {p for paths in self.footprint.owned.values() for p in paths}
            for frm, related_to, to in sorted(self.footprint.edges):
                if frm not in ours and to not in ours:
                    self.unrelate(frm, related_to, to)
            for category in REMOVAL_ORDER:
                for path in sorted(self.footprint.owned[category]):
                    if path in self.footprint.owned[category]:
                        self.remove(category, path)
            self.restore_identity_url()
        finally:
            self.footprint.save()

    def restore_identity_url(self) -> None:
        fp = self.footprint.record
        current = self.aai.get(self.region_path)
        if not fp.wrote_identity_url or current is None:
            return
        if current.get("identity-url") == fp.identity_url:
            if fp.previous_identity_url:
                self.aai.put(self.region_path, {"identity-url": fp.previous_identity_url})
            else:
                self.aai.put(self.region_path, {}, drop=("identity-url",))
        fp.wrote_identity_url = False


def _flavor_body(flavor: dict[str, Any]) -> dict[str, Any]:
    links = flavor.get("links") or []
    body = {
        "flavor-id": str(flavor["id"]),
        "flavor-name": flavor["name"],
        "flavor-vcpus": flavor.get("vcpus"),
        "flavor-ram": flavor.get("ram"),
        "flavor-disk": flavor.get("disk"),
        "flavor-ephemeral": flavor.get("OS-FLV-EXT-DATA:ephemeral"),
        "flavor-swap": str(flavor.get("swap") or ""),
        "flavor-is-public": flavor.get("os-flavor-access:is_public"),
        "flavor-disabled": flavor.get("OS-FLV-DISABLED:disabled"),
        "flavor-selflink": links[0]["href"] if links else "http://0.0.0.0",
    }
    return {k: v for k, v in body.items() if v is not None}


def _attributes(cap_path: str, cap: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {
        cap_path + path_of("hpa-feature-attributes", key): {
            "hpa-attribute-key": key,
            "hpa-attribute-value": value,
        }
        for key, value in cap["attributes"]
    }


def _pserver_body(hostname: str, hyp: dict[str, Any]) -> dict[str, Any]:
    body = {
        "hostname": hostname,
        "pserver-id": str(hyp.get("id")),
        "pserver-name2": hyp.get("hypervisor_hostname"),
        "number-of-cpus": hyp.get("vcpus"),
        "ram-in-megabytes": hyp.get("memory_mb"),
        "disk-in-gigabytes": hyp.get("local_gb"),
        "ipv4-oam-address": hyp.get("host_ip"),
    }
    return {k: v for k, v in body.items() if v is not None}
