"""A registration job's state is its region's row; a job whose worker went away reads failed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from multicloud.vims import discovery, service
from multicloud.vims.models import CloudRegion

pytestmark = pytest.mark.django_db(transaction=True)


def silent_for(record: CloudRegion, seconds: float) -> CloudRegion:
    past = timezone.now() - timedelta(seconds=seconds)
    CloudRegion.objects.filter(pk=record.pk).update(updated_at=past)
    return CloudRegion.objects.get(pk=record.pk)


def test_a_silent_unfinished_job_reads_failed_and_a_finished_one_as_it_ended(stored_region):
    record = stored_region(discovery_status="running")
    assert service.describe(record)["registry"]["status"] == "running"
    stale = service.describe(silent_for(record, discovery.SILENT + 5))["registry"]
    assert stale["status"] == "failed" and "went away" in stale["error"]
    CloudRegion.objects.filter(pk=record.pk).update(discovery_status="done")
    done = service.describe(silent_for(record, discovery.SILENT * 100))["registry"]
    assert (done["status"], done["error"]) == ("done", "")


def test_a_touch_from_the_process_holding_the_job_keeps_it_alive(stored_region):
    record = silent_for(stored_region(discovery_status="pending"), discovery.SILENT + 5)
    assert service.describe(record)["registry"]["status"] == "failed"
    discovery.touch(record.pk, record.generation)
    assert service.describe(CloudRegion.objects.get(pk=record.pk))["registry"]["status"] == (
        "pending"
    )
    discovery.touch(record.pk, record.generation + 1)  # a superseded run touches nothing
