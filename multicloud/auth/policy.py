"""Authorization: one oslo.policy rule per route name and method.

The defaults live here; ``MULTICLOUD_POLICY_FILE`` (YAML or JSON, oslo.policy's
format) overrides any of them and is re-read when it changes. Rule names are
``<route>:<method>`` with the route's name as in :mod:`multicloud.api.routes`
without its form suffix (``registry_v1``, ``registry_vio`` ... all check
``registry:post``). The role rules ``admin``, ``member`` and ``reader`` nest:
an admin may do what a member may, a member what a reader may.
``docs/policy.md`` lists every rule (a test keeps it in step with this table).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from oslo_config import cfg
from oslo_policy import policy as oslo

from multicloud.auth.identity import Identity
from multicloud.exceptions import Forbidden

ADMIN = "rule:admin"
MEMBER = "rule:member"
READER = "rule:reader"
#: Not checked by this service (open, or authenticated by the region's own Keystone).
OPEN = "open"
REGION = "region"

ROLE_RULES = {
    "admin": ("role:admin", "Administers this service: the registry and its secrets"),
    "member": ("role:member or rule:admin", "Creates and deletes cloud resources"),
    "reader": ("role:reader or rule:member", "Reads everything but secrets"),
}

_READ = ("GET",)
_TYPED_COLLECTIONS = ("flavors", "servers", "networks", "subnets", "ports", "volumes")
_TYPED_ITEMS = ("flavor", "server", "network", "subnet", "port", "volume")
_DEFAULTS: dict[str, dict[str, str]] = {
    "swagger": {"GET": OPEN},
    "vio_swagger": {"GET": OPEN},
    "healthcheck": {"GET": OPEN},
    # the Swagger UI page and its assets: the same open documents as swagger.json
    "docs": {"GET": OPEN},
    "docs_asset": {"GET": OPEN},
    # Prometheus metrics: route names and counts, for an authenticated reader (a scraper)
    "metrics": {"GET": READER},
    "vim_types": {"GET": READER},
    "check_vim_capacity": {"POST": READER},
    "registry": {"GET": READER, "POST": ADMIN},
    "tenants": {"GET": READER},
    "capacity_check": {"POST": READER},
    "proxy_token": {"GET": REGION, "POST": REGION, "DELETE": REGION},
    "image_upload": {"POST": MEMBER},
    "image_file": {"GET": READER, "POST": ADMIN},
    "images": {"GET": READER, "POST": MEMBER},
    "image": {"GET": READER, "DELETE": MEMBER},
    "region": {"DELETE": ADMIN},
    "event_subscriptions": {"GET": READER, "POST": ADMIN, "DELETE": ADMIN},
    "events": {"GET": READER},
    "check_vim_status": {"POST": READER},
    "forward": {
        m: READER if m in _READ else MEMBER for m in ("GET", "POST", "PUT", "PATCH", "DELETE")
    },
    # the typed VIO API (multicloud/resources): reads, and creating/deleting cloud resources
    **{name: {"GET": READER, "POST": MEMBER} for name in _TYPED_COLLECTIONS},
    **{name: {"GET": READER, "DELETE": MEMBER} for name in _TYPED_ITEMS},
    "server_action": {"POST": MEMBER},
    # SO's Heat stacks: read them, create/heatbridge/delete them
    "infra_workload": {"GET": READER, "POST": MEMBER},
    "infra_workload_item": {"GET": READER, "POST": MEMBER, "DELETE": MEMBER},
    **{name: {"GET": READER} for name in ("hosts", "host", "limits", "extensions")},
}

#: Decisions taken inside a handler, beyond the route's own rule.
EXTRA_RULES = {
    "image:publicize": (ADMIN, "Upload or create an image with visibility public or community"),
}

_SUFFIX = re.compile(r"(_vio_v1|_vio|_v1|_v0)$")
_PROXY = re.compile(r"^proxy_[a-z0-9]+(_rest)?$")


def base_name(route_name: str) -> str:
    """The route's name without its form suffix (``registry_vio_v1`` → ``registry``)."""
    return _SUFFIX.sub("", route_name)


def default_rule(route_name: str, method: str) -> str:
    """The default check of ``method`` on the route (``OPEN``/``REGION`` when not ours).

    A route missing from the table is admin-only: new routes fail closed.
    """
    base = base_name(route_name)
    method = "GET" if method == "HEAD" else method
    if _PROXY.match(base) and base != "proxy_token":
        return REGION
    return _DEFAULTS.get(base, {}).get(method, ADMIN)


def rule_name(route_name: str, method: str) -> str:
    """The oslo.policy rule checked for ``method`` on the route."""
    method = "GET" if method == "HEAD" else method
    return f"{base_name(route_name)}:{method.lower()}"


def defaults(routes) -> list[oslo.RuleDefault]:
    """Every rule with its default, for the enforcer and the documentation."""
    rules = [
        oslo.RuleDefault(name, check, description)
        for name, (check, description) in ROLE_RULES.items()
    ]
    seen: dict[str, oslo.DocumentedRuleDefault] = {}
    for route in routes:
        for method in route.methods:
            check = default_rule(route.name, method)
            if check in (OPEN, REGION):
                continue
            name = rule_name(route.name, method)
            if name not in seen:
                seen[name] = oslo.DocumentedRuleDefault(
                    name, check, route.summary, [{"path": route.pattern, "method": method}]
                )
    rules += seen.values()
    rules += [oslo.RuleDefault(name, check, text) for name, (check, text) in EXTRA_RULES.items()]
    return rules


@lru_cache(maxsize=4)
def enforcer(policy_file: str) -> oslo.Enforcer:
    """The enforcer for ``policy_file`` (empty: the defaults only).

    Route rules are registered the first time a route is checked (:func:`enforce`),
    so this layer needs no import of the route table.
    """
    conf = cfg.ConfigOpts()
    conf([], project="multicloud", default_config_files=[], default_config_dirs=[])
    # NOTE: no file given means no file at all, not oslo's search for policy.yaml
    # and policy.d/ in the configuration directories.
    path = str(Path(policy_file).resolve()) if policy_file else "/nonexistent/policy.yaml"
    result = oslo.Enforcer(conf, policy_file=path, default_rule=ADMIN)
    conf.set_override("policy_dirs", [], "oslo_policy")
    result.register_defaults(defaults(()))
    return result


def enforce(policy_file: str, rule: str, identity: Identity, target: dict, route=None) -> None:
    """403 unless ``identity`` passes ``rule`` (the rule of ``route`` when given)."""
    checker = enforcer(policy_file)
    if rule not in checker.registered_rules and route is not None:
        for default in defaults((route,)):
            if default.name not in checker.registered_rules:
                checker.register_default(default)
        # NOTE: rules registered after the first load apply from the next load.
        checker.load_rules(force_reload=True)
    if not checker.authorize(rule, target, identity.credentials()):
        raise Forbidden(f"the role is not allowed to do this ({rule})", rule=rule)


def markdown(routes) -> str:
    """The rule table of ``docs/policy.md``."""
    lines = ["| rule | default | what it guards |", "|---|---|---|"]
    for rule in defaults(routes):
        what = rule.description
        if isinstance(rule, oslo.DocumentedRuleDefault):
            first = rule.operations[0]
            what = f"{first['method']} `{first['path']}` (and its other forms): {what}"
        lines.append(f"| `{rule.name}` | `{rule.check_str}` | {what} |")
    return "\n".join(lines) + "\n"
