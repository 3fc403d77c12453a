"""Which regions the listener serves."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from listener import regions
from multicloud.conf import load

URL = "rabbit://nova:s3cret@10.0.0.1:5672/nova"


def events(tmp_path, **env):
    return load({"MULTICLOUD_DATA_DIR": str(tmp_path), **env}).events


@dataclass
class Region:
    cloud_owner: str
    cloud_region_id: str
    notification_transport_url: str = field(repr=False)
    notification_topics: list = field(default_factory=list)
    notification_pool: str = ""
    attributes: dict = field(default_factory=dict)

    @property
    def vim_id(self):
        return f"{self.cloud_owner}_{self.cloud_region_id}"


def test_targets_are_the_configured_cloud_and_the_registered_regions_with_a_transport(tmp_path):
    conf = events(
        tmp_path,
        MULTICLOUD_EVENTS_TRANSPORT_URL=URL,
        MULTICLOUD_EVENTS_CLOUD_OWNER="onap",
        MULTICLOUD_EVENTS_CLOUD_REGION_ID="R1",
    )
    registered = [
        Region("onap", "R1", "rabbit://other@h/v"),  # the configuration wins
        Region("onap", "R2", "rabbit://r2@h/v", ["onap_multicloud"], "my-pool"),
        Region("onap", "R3", ""),  # polled, not listened to
    ]
    found = regions.targets(conf, registered)
    assert [(t.vim_id, t.transport_url, t.topics, t.pool) for t in found] == [
        ("onap_R1", URL, ("notifications", "versioned_notifications"), "onap-multicloud-onap_R1"),
        ("onap_R2", "rabbit://r2@h/v", ("onap_multicloud",), "my-pool"),
    ]
    assert "s3cret" not in repr(found)


def test_a_region_whose_transport_url_cannot_be_decrypted_is_skipped_not_fatal(tmp_path, caplog):
    from multicloud.crypto import UndecryptableSecret

    class Undecryptable:
        vim_id = "onap_R1"

        @property
        def notification_transport_url(self):
            raise UndecryptableSecret()

    registered = [Undecryptable(), Region("onap", "R2", "rabbit://r2@h/v")]
    found = regions.targets(events(tmp_path), registered)
    assert [t.vim_id for t in found] == ["onap_R2"]
    assert "onap_R1" in caplog.text and "cannot be decrypted" in caplog.text


@pytest.mark.django_db
def test_registered_regions_come_from_the_registry(tmp_path):
    from multicloud.vims.models import CloudRegion

    region = CloudRegion(
        cloud_owner="onap",
        cloud_region_id="R9",
        cloud_type="openstack",
        identity_url="http://k/v3",
        username="u",
        default_tenant="t",
        notification_topics=["x"],
    )
    region.password = "p"
    region.notification_transport_url = "rabbit://a:b@h/v"
    region.save()
    (target,) = regions.targets(events(tmp_path))
    assert (target.vim_id, target.transport_url, target.topics) == (
        "onap_R9",
        "rabbit://a:b@h/v",
        ("x",),
    )


def test_the_reconcile_interval_is_global_unless_a_registration_sets_its_own(tmp_path):
    own = {"cloud-extra-info": {"multicloud-events": {"reconcile-interval": 30}}}
    off = {"cloud-extra-info": {"multicloud-events": {"reconcile-interval": 0}}}
    registered = [
        Region("onap", "R1", "rabbit://r1@h/v", attributes=own),
        Region("onap", "R2", "rabbit://r2@h/v"),
        Region("onap", "R3", "rabbit://r3@h/v", attributes=off),
    ]
    conf = events(tmp_path, MULTICLOUD_EVENTS_RECONCILE_INTERVAL="300")
    assert [t.reconcile_interval for t in regions.targets(conf, registered)] == [30, 300, 0]
    found = regions.targets(conf, registered, reconcile=60)  # --reconcile-interval
    assert [t.reconcile_interval for t in found] == [30, 60, 0]
