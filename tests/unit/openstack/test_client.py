"""The OpenStack client seam: URLs, TLS options, error translation."""

import pytest
from keystoneauth1 import exceptions as ks_exc

from multicloud import exceptions
from multicloud.openstack import client

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize(
    "url",
    [
        "http://k:5000",
        "http://k:5000/",
        "http://k:5000/v3",
        "http://k:5000/v2.0/",
        "http://k:5000/v3/",
    ],
)
def test_the_keystone_url_always_ends_in_v3(url):
    assert client.keystone_v3_url(url) == "http://k:5000/v3"


def test_tls_is_verified_by_default():
    assert client.verify_option(False, "") is True


def test_ssl_insecure_turns_verification_off():
    assert client.verify_option(True, PEM) is False


def test_a_region_ca_certificate_becomes_a_private_bundle_file(settings_data_dir):
    path = client.verify_option(False, PEM)
    assert open(path).read() == PEM
    assert client.verify_option(False, PEM) == path


@pytest.fixture
def settings_data_dir(tmp_path, override_settings):
    override_settings(MULTICLOUD_DATA_DIR=str(tmp_path), MULTICLOUD_CLOUD_TIMEOUT="5")
    return tmp_path


@pytest.mark.parametrize(
    ("raised", "expected", "code"),
    [
        (ks_exc.NotFound(message="gone"), exceptions.NotFound, 404),
        (ks_exc.BadRequest(message="bad"), exceptions.BadRequest, 400),
        (ks_exc.Conflict(message="busy"), exceptions.Conflict, 409),
        (ks_exc.Forbidden(message="no"), exceptions.Forbidden, 403),
        (ks_exc.Unauthorized(message="who"), exceptions.UpstreamError, 502),
        (ks_exc.InternalServerError(message="boom"), exceptions.UpstreamError, 502),
        (ks_exc.ConnectFailure("refused"), exceptions.ServiceUnavailable, 503),
        (ks_exc.ConnectTimeout("slow"), exceptions.GatewayTimeout, 504),
        (ks_exc.EndpointNotFound("no image"), exceptions.UpstreamError, 502),
    ],
)
def test_keystoneauth_errors_become_ours(raised, expected, code):
    with pytest.raises(expected) as caught, client.translate_errors("the cloud"):
        raise raised
    assert caught.value.code == code
    assert caught.value.message.startswith(("the cloud", "cannot reach the cloud"))
