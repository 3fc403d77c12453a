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
