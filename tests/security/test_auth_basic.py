"""MULTICLOUD_AUTH=basic in both frameworks: 401 with a challenge, 403 by role, open routes."""

from __future__ import annotations

import io

import pytest

from tests.security.conftest import basic

pytestmark = pytest.mark.django_db

REGISTRY = "/api/multicloud/v0/Owner_Region/registry"
BODY = b'{"cloud-type": "openstack"}'


@pytest.fixture
def basic_mode(override_settings, api_users):
    override_settings(MULTICLOUD_AUTH="basic")
    return api_users


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer x"}, {"Authorization": "Basic %%%"}]
)
def test_no_or_malformed_credentials_are_401_with_a_basic_challenge(api, basic_mode, headers):
    answer = api.request("GET", "/api/multicloud/v0/vim_types", headers=headers)
    assert answer.status == 401
    assert answer.headers["www-authenticate"].startswith('Basic realm="multicloud"')
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["code"] == 401


@pytest.mark.parametrize("name,password", [("admin", "wrong"), ("nobody", "admin-pass-1")])
def test_a_wrong_password_or_unknown_user_is_401(api, basic_mode, name, password):
    answer = api.request("GET", "/api/multicloud/v0/vim_types", headers=basic(name, password))
    assert answer.status == 401
    assert answer.json()["error"] == "wrong user name or password"


def test_the_right_password_passes(api, basic_mode):
    answer = api.request(
        "GET", "/api/multicloud/v0/vim_types", headers=basic("reader", "reader-pass-1")
    )
    assert answer.status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/multicloud/v0/healthcheck",
        "/api/multicloud/v1/swagger.json",
        "/api/multicloud-vio/v0/swagger.json",
    ],
)
def test_healthcheck_and_swagger_stay_open(api, basic_mode, path):
    assert api.request("GET", path).status == 200


@pytest.mark.parametrize("role", ["reader", "member"])
def test_registration_needs_the_admin_role(api, basic_mode, role):
    answer = api.request("POST", REGISTRY, BODY, headers=basic(role, basic_mode[role]))
    assert answer.status == 403
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {
        "error": "the role is not allowed to do this (registry:post)",
        "code": 403,
        "rule": "registry:post",
    }


def test_an_admin_gets_past_authorization_to_validation(api, basic_mode):
    answer = api.request("POST", REGISTRY, BODY, headers=basic("admin", "admin-pass-1"))
    assert answer.status == 400  # the body is incomplete: the handler ran


def test_a_role_change_takes_effect_on_the_next_request(api, basic_mode):
    from multicloud.auth.models import ApiUser

    headers = basic("member", "member-pass-1")
    assert api.request("POST", REGISTRY, BODY, headers=headers).status == 403
    ApiUser.objects.filter(name="member").update(role="admin")
    assert api.request("POST", REGISTRY, BODY, headers=headers).status == 400
    ApiUser.objects.filter(name="member").delete()
    assert api.request("POST", REGISTRY, BODY, headers=headers).status == 401


def test_passthrough_routes_keep_the_regions_keystone(api, basic_mode):
    # No Basic credentials: the proxy itself answers (404: unknown region), not our 401.
    answer = api.request(
        "GET", "/api/multicloud/v0/Owner_Region/nova/servers", headers={"X-Auth-Token": "t"}
    )
    assert answer.status == 404
    token = api.request("POST", "/api/multicloud/v0/Owner_Region/identity/v3/auth/tokens", b"{}")
    assert token.status != 401


@pytest.mark.parametrize("mode", ["none", ""])
def test_without_authentication_every_route_is_open(api, override_settings, db, mode):
    override_settings(MULTICLOUD_AUTH=mode)
    assert api.request("GET", "/api/multicloud/v0/vim_types").status == 200
    assert api.request("POST", REGISTRY, BODY).status == 400


@pytest.mark.parametrize(
    "visibility,status", [("public", 403), ("community", 403), ("private", 404)]
)
def test_only_an_admin_may_create_a_public_image(
    api, basic_mode, override_settings, visibility, status
):
    override_settings(MULTICLOUD_AUTH="basic", MULTICLOUD_IMAGE_URL_ALLOWLIST="127.0.0.0/8")
    body = (
        '{"name": "n", "imagePath": "http://127.0.0.1:1/x.img", "imageType": "raw",'
        f' "visibility": "{visibility}"}}'
    ).encode()
    path = "/api/multicloud/v0/Owner_Region/p1/images"
    answer = api.request("POST", path, body, headers=basic("member", "member-pass-1"))
    assert answer.status == status  # 404: past the check, the region is unknown
    if status == 403:
        assert answer.json()["rule"] == "image:publicize"


def test_api_users_are_managed_with_the_api_user_command(
    api, override_settings, tmp_path, settings
):
    from django.contrib.auth.hashers import identify_hasher
    from django.core.management import CommandError, call_command

    from multicloud.auth.models import ApiUser

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    override_settings(MULTICLOUD_AUTH="basic")
    secret = tmp_path / "pw"
    secret.write_text("ops-pass-123\n")

    def run(*args: str) -> str:
        out = io.StringIO()
        call_command("api_user", *args, stdout=out)
        return out.getvalue()

    assert run("create", "ops", "--role", "reader", "--password-file", str(secret)) == (
        "created ops (reader)\n"
    )
    stored = ApiUser.objects.get(name="ops")
    assert "ops-pass-123" not in stored.password and identify_hasher(stored.password)
    assert run("list").startswith("ops\treader\t")
    who = basic("ops", "ops-pass-123")
    assert api.request("GET", "/api/multicloud/v0/vim_types", headers=who).status == 200
    assert api.request("POST", REGISTRY, BODY, headers=who).status == 403
    run("set-role", "ops", "--role", "admin")
    assert api.request("POST", REGISTRY, BODY, headers=who).status not in (401, 403)
    run("delete", "ops")
    assert api.request("GET", "/api/multicloud/v0/vim_types", headers=who).status == 401
    short = tmp_path / "short"
    short.write_text("abc")
    for args, message in [
        (("create", "x", "--role", "admin", "--password-file", str(short)), "at least 8"),
        (("create", "x", "--role", "admin", "--password-file", str(tmp_path / "no")), "cannot"),
        (("delete", "ops"), "no user"),
        (("set-role", "ops", "--role", "reader"), "no user"),
    ]:
        with pytest.raises(CommandError, match=message):
            run(*args)
