"""The A&AI client against the A&AI double: headers, auth, TLS, versions, errors, time bounds."""

from __future__ import annotations

import time

import pytest

from multicloud.aai.client import MAX_WRITE_ATTEMPTS, AaiClient, AaiError, AaiUnavailable
from multicloud.conf import load
from tests.doubles.aai import FakeAai

pytestmark = pytest.mark.timeout(30)

CR = "/cloud-infrastructure/cloud-regions/cloud-region/Owner/R1"


def make_client(tmp_path, aai: FakeAai, timeout: float = 5.0, **env) -> AaiClient:
    settings = load(
        {
            "MULTICLOUD_DATA_DIR": str(tmp_path),
            "MULTICLOUD_REGISTRY": "aai",
            "AAI_URL": aai.url,
            "AAI_SCHEMA_VERSION": f"v{aai.version}",
            "AAI_USERNAME": "AAI",
            "AAI_PASSWORD": "AAI",
            **({"AAI_CA_FILE": aai.ca_file} if aai.ca_file else {}),
            **env,
        }
    )
    return AaiClient(settings.aai, timeout)


@pytest.fixture
def aai():
    with FakeAai() as double:
        yield double


@pytest.fixture
def client(tmp_path, aai):
    return make_client(tmp_path, aai)


def region(client: AaiClient) -> None:
    assert client.put(CR, {"cloud-owner": "Owner", "cloud-region-id": "R1", "cloud-type": "x"})


def test_every_call_carries_the_app_id_a_fresh_transaction_id_and_credentials(client, aai):
    client.get(CR)
    client.get(CR)
    first, second = aai.requests("GET")
    assert first["headers"]["x-fromappid"] == "MultiCloud"
    assert first["headers"]["x-transactionid"] != second["headers"]["x-transactionid"]
    assert first["headers"]["authorization"].startswith("Basic ")
    assert first["headers"]["accept"] == "application/json"


def test_create_sends_no_version_and_update_reads_it_first(client, aai):
    region(client)
    created = aai.requests("PUT")[0]
    assert created["path"].endswith(CR)
    assert client.put(CR, {"identity-url": "http://proxy"}) is False
    held = aai.get(CR)
    assert held["identity-url"] == "http://proxy" and held["cloud-type"] == "x"  # merged


def test_a_concurrent_writer_is_answered_by_reading_again(client, aai):
    region(client)
    aai.concurrent_writer(MAX_WRITE_ATTEMPTS - 1, once_per_node=False)
    client.put(CR, {"identity-url": "http://proxy"})
    assert aai.get(CR)["identity-url"] == "http://proxy"
    assert len(aai.requests("PUT")) == 1 + MAX_WRITE_ATTEMPTS


def test_retries_are_bounded_and_the_error_carries_aais_text(client, aai):
    region(client)
    aai.concurrent_writer(100, once_per_node=False)
    with pytest.raises(AaiError) as caught:
        client.put(CR, {"identity-url": "http://proxy"})
    assert caught.value.status == 412
    assert "resource-version MISMATCH" in caught.value.message
    assert "ERR.5.4.6131" in caught.value.message
    assert len(aai.requests("PUT")) == 1 + MAX_WRITE_ATTEMPTS


def test_delete_uses_the_current_version_and_a_missing_object_is_false(client, aai):
    region(client)
    aai.concurrent_writer(1)
    assert client.delete(CR) is True
    assert not aai.exists(CR)
    assert client.delete(CR) is False


def test_a_refused_write_raises_with_the_request_error(client, aai):
    region(client)
    with pytest.raises(AaiError) as caught:
        client.put(CR + "/tenants/tenant/t1", {"tenant-id": "t1"})
    assert caught.value.status == 400
    assert "Missing required property: tenant-name" in caught.value.message
    assert caught.value.extra["aai_code"] == "ERR.5.2.3000"


def test_an_empty_list_is_empty(client, aai):
    region(client)
    assert client.get_list(CR + "/tenants", "tenant") == []


def test_edges_are_added_idempotently(client, aai):
    region(client)
    host = "/cloud-infrastructure/pservers/pserver/h1"
    client.put(host, {"hostname": "h1"})
    client.relate(host, "cloud-region", CR)
    client.relate(host, "cloud-region", CR)
    (edge,) = aai.get(host)["relationship-list"]["relationship"]
    assert edge["related-link"] == f"/aai/v13{CR}"
    client.unrelate(host, "cloud-region", CR)
    assert "relationship-list" not in aai.get(host)


def test_wrong_credentials_are_an_error(tmp_path, aai):
    client = make_client(tmp_path, aai, AAI_PASSWORD="wrong")
    with pytest.raises(AaiError) as caught:
        client.get(CR)
    assert caught.value.status == 401


def test_a_down_aai_is_unavailable(client, aai):
    aai.down()
    with pytest.raises(AaiUnavailable):
        client.get(CR)


def test_a_slow_aai_is_bounded_by_the_timeout(tmp_path, aai):
    client = make_client(tmp_path, aai, timeout=0.5)
    aai.slow(3)
    started = time.monotonic()
    with pytest.raises(AaiUnavailable) as caught:
        client.get(CR)
    assert time.monotonic() - started < 2
    assert "in time" in caught.value.message


def test_tls_is_verified_with_the_configured_ca(tmp_path):
    with FakeAai(tls=True) as aai:
        assert make_client(tmp_path, aai).get(CR) is None
        ca_file, aai.ca_file = aai.ca_file, None
        with pytest.raises(AaiUnavailable) as caught:
            make_client(tmp_path, aai).get(CR)  # system CAs do not know the double's
        assert "TLS verification failed" in caught.value.message
        aai.ca_file = ca_file


def test_a_modern_schema_version_is_spoken(tmp_path):
    with FakeAai(version=19) as aai:
        client = make_client(tmp_path, aai)
        region(client)
        assert aai.get(CR)["in-maint"] is False
        assert client.related_link(CR) == f"/aai/v19{CR}"


@pytest.mark.parametrize(("aai_timeout", "expected"), [(None, 30.0), ("2", 2.0), ("99", 30.0)])
def test_the_timeout_is_the_cloud_timeout_at_most(override_settings, aai_timeout, expected):
    from multicloud.aai import client

    override_settings(AAI_URL="http://127.0.0.1:1", AAI_TIMEOUT=aai_timeout)
    assert client.client().timeout == expected
