"""The staging area: finding a staged copy (here, unknown, expired, or recorded but not in this
replica's area), and concurrent uploads reserving their declared size (M2)."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from multicloud.exceptions import Conflict, InsufficientStorage
from multicloud.images import staging
from multicloud.images.models import StagedImage

KIB = 1024


@pytest.fixture
def disk(override_settings, tmp_path, monkeypatch):
    """A staging area on a 100 KiB disk that holds nothing else (no margin)."""
    override_settings(
        MULTICLOUD_IMAGE_STAGING_DIR=str(tmp_path), MULTICLOUD_IMAGE_FREE_SPACE_MARGIN="0"
    )
    real = shutil.disk_usage(tmp_path)

    def usage(path):
        used = sum(p.stat().st_size for p in tmp_path.iterdir())
        return real._replace(free=100 * KIB - used)

    monkeypatch.setattr(staging.shutil, "disk_usage", usage)
    return tmp_path


def test_an_upload_counts_what_the_others_still_have_to_write(disk):
    first = staging.StagingWriter(60 * KIB)
    first.write(b"x" * 10 * KIB)
    first.file.flush()
    with pytest.raises(InsufficientStorage):
        staging.StagingWriter(60 * KIB)  # 90 free, 50 of them still to come for the first
    second = staging.StagingWriter(40 * KIB)
    assert sorted(p.name for p in disk.iterdir()) == sorted([first.path.name, second.path.name])
    first.abort()
    third = staging.StagingWriter(60 * KIB)  # the first gave its reservation back
    for writer in (second, third):
        writer.abort()


def test_an_upload_of_unknown_size_is_refused_once_the_others_fill_the_disk(disk, monkeypatch):
    monkeypatch.setattr(staging, "SPACE_CHECK_EVERY", 8 * KIB)
    declared = staging.StagingWriter(95 * KIB)
    chunked = staging.StagingWriter()
    with pytest.raises(InsufficientStorage):
        chunked.write_all([b"y" * 4 * KIB] * 6)  # 95 KiB of the 100 are the other's
    chunked.abort()
    declared.abort()


def test_an_abandoned_part_file_reserves_nothing(disk):
    dead = disk / "0b5e5c3c-dead-4f6e-9d5a-3a1a6c7d2f10-90000.part"
    dead.write_bytes(b"")
    old = time.time() - 2 * staging.stale_after()
    os.utime(dead, (old, old))
    staging.StagingWriter(90 * KIB).abort()
    assert staging.reserved(dead) == 90000


def _record(path, expires_in: float) -> StagedImage:
    return StagedImage.objects.create(
        path=str(path),
        size=1,
        hash_value="a" * 128,
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
