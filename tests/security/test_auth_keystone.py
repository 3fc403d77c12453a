"""MULTICLOUD_AUTH=keystone in both frameworks: a recording Keystone, then the sandbox's."""

from __future__ import annotations

import uuid

import pytest

from tests.security.fakes import FakeKeystone

pytestmark = pytest.mark.django_db

VIM_TYPES = "/api/multicloud/v0/vim_types"
REGISTRY = "/api/multicloud/v1/Owner/Region/registry"


@pytest.fixture
def keystone(override_settings):
    fake = FakeKeystone({"admin-t": ["admin", "member", "reader"], "reader-t": ["reader"]})
    override_settings(
        MULTICLOUD_AUTH="keystone",
        MULTICLOUD_AUTH_URL=fake.url,
        MULTICLOUD_AUTH_USERNAME="svc",
        MULTICLOUD_AUTH_PASSWORD="svc-password",
    )
    yield fake
    fake.close()


def test_no_token_is_401_with_a_keystone_challenge(api, keystone):
    answer = api.request("GET", VIM_TYPES)
    assert answer.status == 401
    assert answer.headers["www-authenticate"] == f'Keystone uri="{keystone.url}"'
    assert answer.json()["code"] == 401
    assert keystone.requests == []


def test_a_valid_token_is_validated_once_then_cached(api, keystone):
    for _ in range(3):
        assert api.request("GET", VIM_TYPES, headers={"X-Auth-Token": "reader-t"}).status == 200
    assert keystone.validations() == 1
    service_login = [r for r in keystone.requests if r["method"] == "POST"]
    assert len(service_login) == 1 and "svc-password" in service_login[0]["body"]
    validation = next(r for r in keystone.requests if r["method"] == "GET")
    assert validation["headers"]["X-Subject-Token"] == "reader-t"
    assert validation["headers"]["X-Auth-Token"] == "service-token"


def test_a_refused_token_is_401_and_cached_as_refused(api, keystone):
    for _ in range(3):
        answer = api.request("GET", VIM_TYPES, headers={"X-Auth-Token": "forged"})
        assert answer.status == 401
        assert answer.json()["error"] == "the token was refused"
    assert keystone.validations() == 1


def test_roles_come_from_the_token(api, keystone):
    body = b'{"cloud-type": "openstack"}'
    reader = api.request("POST", REGISTRY, body, headers={"X-Auth-Token": "reader-t"})
    assert reader.status == 403
    admin = api.request("POST", REGISTRY, body, headers={"X-Auth-Token": "admin-t"})
    assert admin.status == 400  # past authorization: the body is incomplete


def test_an_unreachable_keystone_is_503_not_401(api, override_settings):
    override_settings(
        MULTICLOUD_AUTH="keystone",
        MULTICLOUD_AUTH_URL="http://127.0.0.1:9/v3",
        MULTICLOUD_AUTH_USERNAME="svc",
        MULTICLOUD_AUTH_PASSWORD="x",
    )
    answer = api.request("GET", VIM_TYPES, headers={"X-Auth-Token": f"t-{uuid.uuid4()}"})
    assert answer.status == 503
    assert answer.json()["error"] == "the identity service cannot be reached"
    assert "127.0.0.1" not in answer.body.decode()


@pytest.mark.sandbox
class TestSandboxKeystone:
    """Tokens of the sandbox's real Keystone, the sandbox admin as the service user."""

    @pytest.fixture
    def real(self, override_settings, sandbox, admin_session):
        override_settings(
            MULTICLOUD_AUTH="keystone",
            MULTICLOUD_AUTH_URL=sandbox.auth_url,
            MULTICLOUD_AUTH_USERNAME=sandbox.admin.username,
            MULTICLOUD_AUTH_PASSWORD=sandbox.admin.password,
            MULTICLOUD_AUTH_PROJECT=sandbox.admin.project_name,
        )
        return sandbox

    def test_admin_and_demo_tokens_get_their_roles(self, api, real, admin_session, demo_session):
        body = b'{"cloud-type": "openstack"}'
        admin = {"X-Auth-Token": admin_session.get_token()}
        demo = {"X-Auth-Token": demo_session.get_token()}
        assert api.request("GET", VIM_TYPES, headers=demo).status == 200
        assert api.request("POST", REGISTRY, body, headers=demo).status == 403
        assert api.request("POST", REGISTRY, body, headers=admin).status == 400

    def test_a_revoked_token_is_refused(self, api, real, admin_session):
        from tests.sandbox import make_session

        session = make_session(real, real.demo)
        token = session.get_token()
        admin_session.delete(f"{real.auth_url}/auth/tokens", headers={"X-Subject-Token": token})
        answer = api.request("GET", VIM_TYPES, headers={"X-Auth-Token": token})
        assert answer.status == 401
