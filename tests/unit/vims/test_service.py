"""Validation of A&AI cloud-region bodies and vim ids (no cloud needed)."""

import copy

import pytest

from multicloud.exceptions import BadRequest
from multicloud.vims import service

BODY = {
    "cloud-owner": "onap",
    "cloud-region-id": "Region_One",
    "cloud-type": "openstack",
    "cloud-region-version": "pike",
    "cloud-extra-info": '{"openstack-region-id": "RegionOne"}',
    "esr-system-info-list": {
        "esr-system-info": [
            {
                "service-url": "http://127.0.0.1:5000/v3",
                "user-name": "admin",
                "password": "s3cret",
                "default-tenant": "admin",
                "cloud-domain": "Default",
                "ssl-insecure": "false",
            }
        ]
    },
}


def body(**changes):
    copied = copy.deepcopy(BODY)
    copied.update(changes)
    return copied


def esr(**changes):
    copied = copy.deepcopy(BODY)
    copied["esr-system-info-list"]["esr-system-info"][0].update(changes)
    return copied


def test_a_complete_body_is_parsed_into_typed_fields():
    parsed = service.parse_registration("onap", "Region_One", BODY)
    assert parsed.fields["cloud_type"] == "openstack"
    assert parsed.fields["identity_url"] == "http://127.0.0.1:5000/v3"
    assert parsed.fields["openstack_region_id"] == "RegionOne"
    assert parsed.fields["ssl_insecure"] is False
    assert parsed.password == "s3cret"


def test_the_kept_attributes_hold_no_secret():
    parsed = service.parse_registration("onap", "Region_One", BODY)
    assert "s3cret" not in repr(parsed.attributes)
    assert "password" not in repr(parsed.attributes)


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ([], "JSON object"),
        (body(**{"cloud-type": "azure"}), "unknown cloud-type 'azure'"),
        (body(**{"cloud-owner": "other"}), "does not match"),
        (body(**{"esr-system-info-list": {}}), "esr-system-info"),
        (esr(**{"service-url": "ftp://x"}), "http(s) URL"),
        (esr(**{"password": ""}), "'password'"),
        (esr(**{"user-name": 7}), "'user-name'"),
        (esr(**{"default-tenant": None}), "'default-tenant'"),
        (esr(**{"ssl-insecure": "maybe"}), "'ssl-insecure'"),
        (esr(**{"ssl-cacert": "not a cert"}), "PEM"),
        (body(**{"cloud-extra-info": "{not json"}), "cloud-extra-info"),
        (body(**{"cloud-extra-info": {"multicloud-events": {"topics": "x"}}}), "topics"),
        (
            body(**{"cloud-extra-info": {"multicloud-events": {"transport-url": "http://x"}}}),
            "rabbit://",
        ),
    ],
)
def test_a_bad_body_is_refused_with_the_reason(bad, fragment):
    with pytest.raises(BadRequest) as caught:
        service.parse_registration("onap", "Region_One", bad)
    assert fragment in caught.value.message


def test_a_transport_url_is_kept_apart_from_the_public_attributes():
    extra = {"multicloud-events": {"transport-url": "rabbit://u:pw@h:5672/", "topics": ["t"]}}
    parsed = service.parse_registration("onap", "Region_One", body(**{"cloud-extra-info": extra}))
    assert parsed.transport_url == "rabbit://u:pw@h:5672/"
    assert parsed.fields["notification_topics"] == ["t"]
    assert "pw@" not in repr(parsed.attributes)


@pytest.mark.parametrize(
    ("vimid", "expected"),
    [
        ("onap_RegionOne", ("onap", "RegionOne")),
        ("a_b_c", ("a", "b_c")),
        ("own-er_reg-ion", ("own-er", "reg-ion")),
    ],
)
def test_a_vim_id_splits_on_the_first_underscore(vimid, expected):
    assert service.parse_vim_id(vimid) == expected


@pytest.mark.parametrize("vimid", ["onap", "_region", "owner_", ""])
def test_a_vim_id_without_owner_and_region_is_refused(vimid):
    with pytest.raises(BadRequest):
        service.parse_vim_id(vimid)


def test_a_v1_owner_with_an_underscore_is_refused():
    with pytest.raises(BadRequest, match="must not contain '_'"):
        service.region_key({"owner": "on_ap", "region": "r"})
