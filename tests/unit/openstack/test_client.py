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


# --------------------------------------------------------------------------- call / cloud_error

import json  # noqa: E402

import requests  # noqa: E402

from multicloud.exceptions import (  # noqa: E402
    BadRequest,
    Conflict,
    Forbidden,
    GatewayTimeout,
    NotFound,
    ServiceUnavailable,
    UpstreamError,
)


def reply(status: int, body) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer.headers["Content-Type"] = "application/json"
    return answer


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"conflictingRequest": {"message": "Cannot 'stop' instance", "code": 409}}, "Cannot"),
        ({"NeutronError": {"type": "NetworkInUse", "message": "in use", "detail": ""}}, "in use"),
        ({"error": {"code": 404, "title": "Not Found", "message": "no such"}}, "no such"),
        ({"errors": [{"title": "Conflict", "detail": "placement says"}]}, "placement says"),
        (b"plain text failure", "plain text failure"),
    ],
)
def test_the_clouds_own_message_is_kept(body, message):
    assert client._cloud_message(reply(409, body)).startswith(message)


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (400, "bad", BadRequest),
        (403, "Quota exceeded for cores", Conflict),
        (413, "OverLimit", Conflict),
        (403, "Policy does not allow", Forbidden),
        (404, "gone", NotFound),
        (409, "in use", Conflict),
        (422, "odd", BadRequest),
        (500, "boom", UpstreamError),
        (503, "down", ServiceUnavailable),
        (504, "slow", GatewayTimeout),
    ],
)
def test_each_status_maps_to_one_error(status, message, error):
    found = client.cloud_error(status, message, "the compute service of a_b")
    assert type(found) is error and message in found.message
    assert found.extra["upstream_status"] == status


def test_refused_registered_credentials_are_502_without_the_clouds_text():
    found = client.cloud_error(401, "The request you have made requires authentication.", "x")
    assert found.code == 502 and "registered credentials" in found.message


def test_credentials_never_show_their_password():
    creds = client.Credentials(
        "http://k/v3", "admin", "s3cret-pw", "admin", None, "Default", True, None
    )
    assert "s3cret-pw" not in repr(creds) and "admin" in repr(creds)
