"""The authorization table, route by route and method by method, for each role.

EXPECTED is written from the issue's rules, not derived from the code's table:
admin for the registry, subscriptions, export and unregister; member for creating
and deleting cloud resources; reader for reads; open for healthcheck/swagger; the
region's own Keystone for the OpenStack passthrough and token routes.
"""

from __future__ import annotations

import re

import pytest

from multicloud import auth
from multicloud.api.routes import ROUTES
from multicloud.auth import policy
from multicloud.auth.identity import Identity
from multicloud.exceptions import Forbidden
from multicloud.http import Headers, Request

EXPECTED = {
    ("swagger", "GET"): "open",
    ("vio_swagger", "GET"): "open",
    ("healthcheck", "GET"): "open",
    ("docs", "GET"): "open",
    ("docs_asset", "GET"): "open",
    ("metrics", "GET"): "reader",
    ("vim_types", "GET"): "reader",
    ("check_vim_capacity", "POST"): "reader",
    ("registry", "GET"): "reader",
    ("registry", "POST"): "admin",
    ("tenants", "GET"): "reader",
    ("capacity_check", "POST"): "reader",
    ("image_upload", "POST"): "member",
    ("image_file", "GET"): "reader",
    ("image_file", "POST"): "admin",
    ("images", "GET"): "reader",
    ("images", "POST"): "member",
    ("image", "GET"): "reader",
    ("image", "DELETE"): "member",
    ("region", "DELETE"): "admin",
    ("event_subscriptions", "GET"): "reader",
    ("event_subscriptions", "POST"): "admin",
    ("event_subscriptions", "DELETE"): "admin",
    ("events", "GET"): "reader",
    ("check_vim_status", "POST"): "reader",
    ("forward", "GET"): "reader",
    ("forward", "HEAD"): "reader",
    ("forward", "POST"): "member",
    ("forward", "PUT"): "member",
    ("forward", "PATCH"): "member",
    ("forward", "DELETE"): "member",
    **{(name, "GET"): "reader" for name in ("hosts", "host", "limits", "extensions")},
    ("server_action", "POST"): "member",
    ("infra_workload", "GET"): "reader",
    ("infra_workload", "POST"): "member",
    ("infra_workload_item", "GET"): "reader",
    ("infra_workload_item", "POST"): "member",
    ("infra_workload_item", "DELETE"): "member",
    **{
        (name, method): "reader" if method == "GET" else "member"
        for collection, item in (
            ("flavors", "flavor"),
            ("servers", "server"),
            ("networks", "network"),
            ("subnets", "subnet"),
            ("ports", "port"),
            ("volumes", "volume"),
        )
        for name, method in (
            (collection, "GET"),
            (collection, "POST"),
            (item, "GET"),
            (item, "DELETE"),
        )
    },
}
ROLES = ("admin", "member", "reader", "guest")
RANK = {"admin": 3, "member": 2, "reader": 1, "guest": 0}


def expected(route_name: str, method: str) -> str:
    base = re.sub(r"(_vio_v1|_vio|_v1|_v0)$", "", route_name)
    if base.startswith("proxy_"):
        return "region"
    return EXPECTED[(base, "GET" if method == "HEAD" and base != "forward" else method)]


CASES = [(route, method, role) for route in ROUTES for method in route.allowed for role in ROLES]


@pytest.fixture
def basic_mode(override_settings):
    override_settings(MULTICLOUD_AUTH="basic")


def _request(route, method: str) -> Request:
    params = {name: "x" for name in route.params}
    return Request(method, "/" + route.pattern, params, "", Headers(), None)


def test_every_route_of_the_table_has_an_expected_rule():
    missing = {
        (r.name, m) for r in ROUTES for m in r.allowed if not r.name.startswith("proxy_")
    } - {(r.name, m) for r, m, _ in CASES if _known(r.name, m)}
    assert not missing


def _known(name: str, method: str) -> bool:
    try:
        expected(name, method)
    except KeyError:
        return False
    return True


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_the_route_admits_exactly_the_roles_it_should(basic_mode, monkeypatch, route):
    for method in route.allowed:
        for role in ROLES:
            _check(monkeypatch, route, method, role)


def _check(monkeypatch, route, method: str, role: str) -> None:
    needed = expected(route.name, method)
    identity = Identity("u", frozenset() if role == "guest" else frozenset([role]))
    authenticated = []

    class Fake:
        def authenticate(self, headers):
            authenticated.append(True)
            return identity

    monkeypatch.setattr(auth, "authenticator", lambda conf, timeout: Fake())
    request = _request(route, method)
    if needed in ("open", "region") or RANK[role] >= RANK[needed]:
        auth.authorize(request, route)
    else:
        with pytest.raises(Forbidden):
            auth.authorize(request, route)
    assert bool(authenticated) == (needed not in ("open", "region")), (route.name, method)


def test_a_policy_file_overrides_a_default(basic_mode, override_settings, tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text('"images:get": "rule:admin"\n"registry:post": "rule:member"\n')
    override_settings(MULTICLOUD_AUTH="basic", MULTICLOUD_POLICY_FILE=str(path))
    from multicloud.conf import get_settings

    file = get_settings().auth.policy_file
    member = Identity("m", frozenset(["member"]))
    images = next(r for r in ROUTES if r.name == "images")
    registry = next(r for r in ROUTES if r.name == "registry")
    with pytest.raises(Forbidden):
        policy.enforce(file, "images:get", member, {}, images)
    policy.enforce(file, "registry:post", member, {}, registry)
    policy.enforce("", "images:get", member, {}, images)


def test_docs_hold_the_generated_table_exactly():
    text = (policy.Path(__file__).resolve().parents[2] / "docs" / "policy.md").read_text()
    table = text[text.index("| rule | default |") :]
    assert table == policy.markdown(ROUTES), "run: python -m multicloud.api.policy_doc"
