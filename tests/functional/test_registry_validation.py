"""Malformed registrations: 400 with the reason, nothing stored (no cloud contacted)."""

import pytest

from multicloud.vims.models import CloudRegion

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("/api/multicloud/v1/os_box/R/registry", b"{}", "must not contain '_'"),
        ("/api/multicloud/v0/osboxRegion/registry", b"{}", "invalid vim id"),
        ("/api/multicloud/v1/osbox/R/registry", b"{not json", "not valid JSON"),
        ("/api/multicloud/v1/osbox/R/registry", b"", "request body is required"),
        ("/api/multicloud/v1/osbox/R/registry", b'{"cloud-type": "azure"}', "unknown cloud-type"),
    ],
)
def test_malformed_registrations_are_400_and_store_nothing(api, path, body, fragment):
    answer = api.request("POST", path, body)
    assert answer.status == 400
    assert fragment in answer.json()["error"]
    assert not CloudRegion.objects.exists()


def _with_transport(url: str) -> bytes:
    import json

    return json.dumps(
        {
            "cloud-type": "openstack",
            "cloud-region-version": "titanium_cloud",
            "esr-system-info-list": {
                "esr-system-info": [
                    {
                        "service-url": "http://127.0.0.1:1/v3",
                        "user-name": "u",
                        "password": "p",
                        "default-tenant": "t",
                    }
                ]
            },
            "cloud-extra-info": {"multicloud-events": {"transport-url": url}},
        }
    ).encode()


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("amqp://u:s3cret@127.0.0.1:5672/", "driver 'amqp'"),
        ("rabbit://u:s3cret@127.0.0.1:abc/", "bad port"),
        ("rabbit://", "names no broker host"),
    ],
)
def test_a_transport_url_oslo_messaging_cannot_use_is_400_before_the_cloud_is_asked(
    api, url, fragment
):
    answer = api.request("POST", "/api/multicloud/v1/osbox/R/registry", _with_transport(url))
    assert answer.status == 400
    assert fragment in answer.json()["error"] and b"s3cret" not in answer.body
    assert not CloudRegion.objects.exists()
