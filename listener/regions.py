"""Which clouds to listen to: the single-cloud configuration plus the region registry.

Framework-free. A region is listened to when it has a notification transport URL, from
``MULTICLOUD_EVENTS_TRANSPORT_URL`` (with ``_CLOUD_OWNER``/``_CLOUD_REGION_ID``) or from
its registration (``cloud-extra-info.multicloud-events``). When both name the same region,
the configuration wins. Regions without a transport URL are served by polling
(``check_vim_status``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from multicloud.conf import EventsSettings
from multicloud.crypto import UndecryptableSecret

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ListenTarget:
    """Where one region's Nova notifications come from."""

    cloud_owner: str
    cloud_region_id: str
    transport_url: str = field(repr=False)
    topics: tuple[str, ...]
    pool: str
    exchange: str = "nova"
    #: Seconds between reconciliations with Nova (0: none), see listener/reconcile.py.
    reconcile_interval: float = 0.0

    @property
    def vim_id(self) -> str:
        return f"{self.cloud_owner}_{self.cloud_region_id}"


def default_pool(vim_id: str) -> str:
    return f"onap-multicloud-{vim_id}"


def reconcile_interval(region: object, default: float) -> float:
    """The region's ``cloud-extra-info.multicloud-events.reconcile-interval`` (seconds, 0:
    off), else ``default`` (``--reconcile-interval``)."""
    attributes = getattr(region, "attributes", None) or {}
    extra = attributes.get("cloud-extra-info") if isinstance(attributes, dict) else None
    events = extra.get("multicloud-events") if isinstance(extra, dict) else None
    value = events.get("reconcile-interval") if isinstance(events, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return default


def targets(
    settings: EventsSettings, registered: list | None = None, reconcile: float | None = None
) -> list[ListenTarget]:
    """Listen targets, the configured single cloud first, then registered regions.

    ``reconcile``: the global reconcile interval (default: the configuration's); a region's
    registration may set its own.
    """
    default = settings.reconcile_interval if reconcile is None else reconcile
    found: dict[str, ListenTarget] = {}
    if registered is None:
        registered = _registered_regions()
    records = {region.vim_id: region for region in registered}
    if settings.transport_url:
        vim_id = f"{settings.cloud_owner}_{settings.cloud_region_id}"
        found[vim_id] = ListenTarget(
            settings.cloud_owner,
            settings.cloud_region_id,
            settings.transport_url,
            tuple(settings.topics),
            settings.pool or default_pool(vim_id),
            settings.exchange,
            reconcile_interval(records.get(vim_id), default),
        )
    for region in registered:
        try:
            url = region.notification_transport_url
        except UndecryptableSecret:
            # NOTE: one region's secret under a dropped key must not stop the others (L3).
            log.error(
                "cloud region %s: its transport URL cannot be decrypted with the configured "
                "keys (MULTICLOUD_ENCRYPTION_KEY); not listening to it",
                region.vim_id,
            )
            continue
        if not url or region.vim_id in found:
            continue
        found[region.vim_id] = ListenTarget(
            region.cloud_owner,
            region.cloud_region_id,
            url,
            tuple(region.notification_topics or settings.topics),
            region.notification_pool or default_pool(region.vim_id),
            settings.exchange,
            reconcile_interval(region, default),
        )
    return list(found.values())


def _registered_regions() -> list:
    from multicloud.vims.service import list_regions

    return list_regions()
