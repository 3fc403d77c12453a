"""Who may call which route: authentication and authorization, framework-free.

:func:`authorize` is the one call both web adapters make once the route is
matched, before the handler runs. It checks the body framing (one
non-negative Content-Length, not with Transfer-Encoding) and the Host header
(H3), then, when
``MULTICLOUD_AUTH`` is ``keystone`` or ``basic``, authenticates the caller
(401 with ``WWW-Authenticate``) and checks the route's oslo.policy rule (403).
Open routes (healthcheck, swagger.json) and the OpenStack passthrough/token
routes (authenticated by the region's own Keystone) skip the last two steps.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from multicloud.auth import policy
from multicloud.auth.framing import check_framing, check_path
from multicloud.auth.hosts import check_host
from multicloud.auth.identity import Identity
from multicloud.conf import AuthSettings, get_settings

if TYPE_CHECKING:
    from multicloud.http import Request
    from multicloud.routing import Route

__all__ = ["Identity", "authorize", "require"]


def authorize(request: Request, route: Route) -> None:
    """Admit ``request`` to ``route`` or raise the 400/401/403 that says why not."""
    settings = get_settings()
    check_framing(request.headers)
    check_path(request.path)
    check_host(request.headers.get("host"), settings.allowed_hosts)
    if not settings.auth.enabled:
        return
    if policy.default_rule(route.name, request.method) in (policy.OPEN, policy.REGION):
        return
    identity = authenticator(settings.auth, settings.cloud_timeout).authenticate(request.headers)
    request.identity = identity
    rule = policy.rule_name(route.name, request.method)
    policy.enforce(settings.auth.policy_file, rule, identity, dict(request.params), route)


def require(request: Request, rule: str) -> None:
    """403 unless the caller passes ``rule`` (one of ``policy.EXTRA_RULES``).

    Without authentication (``MULTICLOUD_AUTH`` none or unset) everything passes.
    """
    identity = getattr(request, "identity", None)
    if identity is None:
        return
    policy.enforce(get_settings().auth.policy_file, rule, identity, dict(request.params))


@lru_cache(maxsize=4)
def authenticator(conf: AuthSettings, timeout: float):
    """The authenticator of ``conf.mode`` (one per configuration, caches inside)."""
    if conf.mode == "keystone":
        from multicloud.auth.keystone import KeystoneAuthenticator

        return KeystoneAuthenticator(conf, timeout)
    from multicloud.auth.basic import BasicAuthenticator

    return BasicAuthenticator(conf.cache_ttl)
