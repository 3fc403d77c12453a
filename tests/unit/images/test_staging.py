"""Finding a staged copy: here, unknown, expired, or recorded but not in this replica's area."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from multicloud.exceptions import Conflict
from multicloud.images import staging
from multicloud.images.models import StagedImage


def _record(path, expires_in: float) -> StagedImage:
    return StagedImage.objects.create(
        path=str(path),
        size=1,
        sha512="a" * 128,
        sha256="b" * 64,
        md5="c" * 32,
        expires=timezone.now() + timedelta(seconds=expires_in),
    )


@pytest.mark.django_db
def test_a_live_copy_in_the_staging_area_is_found_an_unknown_or_expired_one_is_not(tmp_path):
    copy = tmp_path / "copy.img"
    copy.write_bytes(b"x")
    live, expired = _record(copy, 3600), _record(copy, -1)
    assert staging.find(str(live.id)) == live
    assert staging.find(str(expired.id)) is None
    assert staging.find(str(uuid.uuid4())) is None
    assert staging.find("not-a-uuid") is None


@pytest.mark.django_db
def test_a_copy_recorded_but_absent_from_this_replicas_staging_area_is_a_409_saying_why(
    tmp_path,
):
    # NOTE: what a replica sees when replicas do not share MULTICLOUD_IMAGE_STAGING_DIR:
    # the record (shared database) without the file (another machine's disk).
    elsewhere = _record(tmp_path / "on-another-replica.img", 3600)
    with pytest.raises(Conflict, match="every replica must mount the same") as raised:
        staging.find(str(elsewhere.id))
    assert raised.value.code == 409
    assert str(tmp_path) not in raised.value.message  # no server path in the answer
