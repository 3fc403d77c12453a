"""L3/L4: key rotation, undecryptable secrets, secrets masked when settings are printed."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from multicloud.conf import main as print_settings
from multicloud.vims.models import CloudRegion

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def keys(override_settings):
    def use(*chosen: str) -> None:
        override_settings(MULTICLOUD_ENCRYPTION_KEY=",".join(chosen))

    return use


def _region() -> CloudRegion:
    region = CloudRegion(cloud_owner="o", cloud_region_id="r", cloud_type="openstack")
    region.identity_url, region.username, region.default_tenant = "http://ks/v3", "u", "t"
    region.password = "cloud-password"
    region.notification_transport_url = "rabbit://u:p@mq:5672/"
    region.save()
    return region


def test_rotate_keys_re_encrypts_under_the_first_key(keys):
    keys(OLD)
    _region()
    keys(NEW, OLD)
    call_command("rotate_keys")
    keys(NEW)
    region = CloudRegion.objects.get()
    assert region.password == "cloud-password"
    assert region.notification_transport_url == "rabbit://u:p@mq:5672/"


def test_rotate_keys_changes_nothing_when_a_secret_cannot_be_read(keys):
    keys(OLD)
    _region()
    stored = CloudRegion.objects.get().password_encrypted
    keys(NEW)
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("rotate_keys")
    assert CloudRegion.objects.get().password_encrypted == stored


def test_an_undecryptable_secret_is_a_clear_error_answer(api, keys):
    keys(OLD)
    _region()
    keys(NEW)
    answer = api.request("GET", "/api/multicloud/v0/o_r/tenants")
    assert answer.status == 500
    assert answer.json()["error"] == "a stored secret cannot be decrypted with the configured keys"


def test_printed_settings_mask_passwords_in_urls(override_settings, capsys):
    override_settings(
        DATABASE_URL="postgresql://mc:db-secret@127.0.0.1:5432/mc",
        MULTICLOUD_MR_URL="http://mr:3904",
        MULTICLOUD_EVENTS_TRANSPORT_URL="rabbit://u:mq-secret@mq:5672/",
        MULTICLOUD_EVENTS_CLOUD_OWNER="o",
        MULTICLOUD_EVENTS_CLOUD_REGION_ID="r",
    )
    assert print_settings() == 0
    out = capsys.readouterr().out
    assert "db-secret" not in out and "mq-secret" not in out
    assert "postgresql://mc:***@127.0.0.1:5432/mc" in out


def test_unregister_removes_subscriptions_events_and_staged_copies(api, tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    from multicloud.events.models import Event, Subscription
    from multicloud.images.models import StagedImage, StagedUpload

    _region()
    Subscription.objects.create(cloud_owner="o", cloud_region_id="r", topic="T", states=["PAUSE"])
    Subscription.objects.create(cloud_owner="o", cloud_region_id="other", topic="T", states=[])
    Event.objects.create(
        cloud_owner="o", cloud_region_id="r", vim_id="o_r", message_id="m1",
        event_type="compute.instance.pause.end", kind="PAUSE", phase="END",
        emitted_at=timezone.now(), message={},
    )  # fmt: skip
    later = timezone.now() + timedelta(hours=1)
    copies = []
    for name in ("only-here", "shared"):
        path = tmp_path / f"{name}.img"
        path.write_bytes(b"x")
        copies.append(
            StagedImage.objects.create(path=str(path), size=1, hash_value="a", expires=later)
        )
    StagedUpload.objects.create(staged=copies[0], vim_id="o_r", image_id="i1")
    StagedUpload.objects.create(staged=copies[1], vim_id="o_r", image_id="i2")
    StagedUpload.objects.create(staged=copies[1], vim_id="o_other", image_id="i3")
    assert api.request("DELETE", "/api/multicloud/v0/o_r").status == 204
    assert list(Subscription.objects.values_list("cloud_region_id", flat=True)) == ["other"]
    assert not Event.objects.exists()
    assert list(StagedImage.objects.values_list("pk", flat=True)) == [copies[1].pk]
    assert not (tmp_path / "only-here.img").exists() and (tmp_path / "shared.img").exists()
