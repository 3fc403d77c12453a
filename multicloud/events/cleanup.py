"""An unregistered region's subscriptions and stored events go with it."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def forget_region(sender, instance, **kwargs) -> None:
    """``post_delete`` of a CloudRegion: delete its subscriptions and its events."""
    from multicloud.events.models import Event, Subscription

    owner, region = instance.cloud_owner, instance.cloud_region_id
    subscriptions, _ = Subscription.objects.filter(
        cloud_owner=owner, cloud_region_id=region
    ).delete()
    events, _ = Event.objects.filter(vim_id=instance.vim_id).delete()
    if subscriptions or events:
        log.info("removed %d subscription(s), %d event(s) of %s", subscriptions, events, instance)
