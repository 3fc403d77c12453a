"""Region records cached per worker: every kind of change to a region row is seen at once."""

from __future__ import annotations

import pytest
from django.db import connection, connections

from multicloud.exceptions import NotFound
from multicloud.vims import cache, discovery, service
from multicloud.vims.models import CloudRegion


def make(owner="own", region="R1", **fields) -> CloudRegion:
    record = CloudRegion(
        cloud_owner=owner,
        cloud_region_id=region,
        cloud_type="openstack",
        identity_url="http://127.0.0.1:5000/v3",
        username="admin",
        default_tenant="admin",
        **fields,
    )
    record.password = "pw"
    record.save()
    return record


@pytest.fixture(autouse=True)
def cold_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_a_cached_region_costs_only_the_stamp_query(django_assert_num_queries):
    make()
    service.get_region("own", "R1")
    with django_assert_num_queries(1) as queries:
        assert service.get_region("own", "R1").username == "admin"
    assert queries.captured_queries[0]["sql"] == cache.STAMP_QUERY


@pytest.mark.django_db
def test_an_unknown_region_is_cached_too_and_registering_it_is_seen(django_assert_num_queries):
    for _ in range(2):
        with pytest.raises(NotFound):
            service.get_region("own", "R1")
    with django_assert_num_queries(1), pytest.raises(NotFound):
        service.get_region("own", "R1")
    make()
    assert service.get_region("own", "R1").cloud_region_id == "R1"


@pytest.mark.django_db
def test_updates_that_bypass_the_orm_models_are_seen():
    make()
    assert service.get_region("own", "R1").username == "admin"
    CloudRegion.objects.filter(cloud_owner="own").update(username="other")
    assert service.get_region("own", "R1").username == "other"
    with connection.cursor() as cursor:
        cursor.execute("UPDATE vims_cloudregion SET username = 'raw' WHERE cloud_owner = 'own'")
    assert service.get_region("own", "R1").username == "raw"
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM vims_cloudregion")
    with pytest.raises(NotFound):
        service.get_region("own", "R1")


@pytest.mark.django_db
def test_callers_get_private_copies():
    make()
    service.get_region("own", "R1").username = "changed by a caller"
    assert service.get_region("own", "R1").username == "admin"


@pytest.mark.django_db
def test_a_registration_update_and_unregister_through_the_service_are_seen():
    record = make()
    assert service.describe(service.get_region("own", "R1"))["registry"]["status"] == "pending"
    discovery.mark_discovery(record.pk, record.generation, discovery_status="done")
    assert service.describe(service.get_region("own", "R1"))["registry"]["status"] == "done"
    service.unregister("own", "R1")
    with pytest.raises(NotFound):
        service.get_region("own", "R1")


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_by_another_connection_is_seen_by_the_worker_connection():
    """Another replica's commit: the lookup runs with no open request connection."""
    make()
    assert service.get_region("own", "R1").username == "admin"
    connection.close()
    assert service.get_region("own", "R1").username == "admin"
    assert connection.connection is None  # the hit used the worker's stamp connection only
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("UPDATE vims_cloudregion SET username = 'elsewhere'")
    finally:
        other.close()
    assert service.get_region("own", "R1").username == "elsewhere"
    connection.close()
    assert service.get_region("own", "R1").username == "elsewhere"


def test_a_new_stamp_empties_the_cache():
    regions = cache.RegionCache(size=2)
    regions.get(("a", "1"), 7)
    regions.put(("a", "1"), 7, None)
    assert regions.get(("a", "1"), 7) == (True, None)
    assert regions.get(("a", "1"), 8) == (False, None)
    regions.put(("a", "1"), 7, None)  # read under the old stamp: not kept
    assert regions.get(("a", "1"), 8) == (False, None)


def test_the_cache_is_bounded():
    regions = cache.RegionCache(size=2)
    regions.get(("x", "0"), 1)
    for i in range(5):
        regions.put(("x", str(i)), 1, None)
    assert list(regions.items) == [("x", "3"), ("x", "4")]
