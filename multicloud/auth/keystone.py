"""``MULTICLOUD_AUTH=keystone``: callers present a token of the operator's Keystone.

Like keystonemiddleware's ``auth_token``: this service logs in as its own
service user (``MULTICLOUD_AUTH_USERNAME`` ...) and validates each caller's
``X-Auth-Token`` with ``GET /v3/auth/tokens`` (``X-Subject-Token``). A valid
token is cached for ``MULTICLOUD_AUTH_CACHE_TTL`` seconds (never past its
expiry); a refused one for ``MULTICLOUD_AUTH_NEGATIVE_TTL``. Roles come from
the token (Keystone lists implied roles too).
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import UTC, datetime

from keystoneauth1 import access
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from multicloud.auth.cache import TTLCache
from multicloud.auth.identity import AuthenticationRequired, Identity
from multicloud.conf import AuthSettings
from multicloud.exceptions import ServiceUnavailable

log = logging.getLogger(__name__)

_REFUSED = "refused"


def v3_url(url: str) -> str:
    """The Keystone v3 root of ``MULTICLOUD_AUTH_URL`` (``/v3`` added when missing)."""
    url = url.rstrip("/")
    return url if url.endswith("/v3") else f"{url}/v3"


class KeystoneAuthenticator:
    """Validates caller tokens at the operator's Keystone with a service user."""

    def __init__(self, conf: AuthSettings, timeout: float):
        self.url = v3_url(conf.url)
        self.challenge = f'Keystone uri="{self.url}"'
        plugin = v3.Password(
            auth_url=self.url,
            username=conf.username,
            password=conf.password,
            project_name=conf.project,
            user_domain_name=conf.user_domain,
            project_domain_name=conf.project_domain,
        )
        verify = conf.ca_file or True
        self.session = ks_session.Session(auth=plugin, verify=verify, timeout=timeout)
        self._valid = TTLCache(conf.cache_ttl)
        self._refused = TTLCache(conf.negative_ttl)

    def authenticate(self, headers) -> Identity:
        """The caller's identity from its ``X-Auth-Token``, or 401."""
        token = headers.get("x-auth-token", "").strip()
        if not token:
            raise AuthenticationRequired(self.challenge)
        key = hashlib.sha256(token.encode()).digest()
        identity = self._valid.get(key)
        if identity is not None:
            return identity
        if self._refused.get(key) is not None:
            raise AuthenticationRequired(self.challenge, "the token was refused")
        return self._validate(key, token)

    def _validate(self, key: bytes, token: str) -> Identity:
        info = self._fetch(token)
        if info is None:
            self._refused.put(key, _REFUSED)
            raise AuthenticationRequired(self.challenge, "the token was refused")
        identity = Identity(
            user=info.user_id or "",
            roles=frozenset(info.role_names or ()),
            project=info.project_id or "",
            method="keystone",
        )
        self._valid.put(key, identity, _monotonic_deadline(info.expires))
        return identity

    def _fetch(self, token: str) -> access.AccessInfo | None:
        """The token's data, None when Keystone says it is not valid."""
        try:
            response = self.session.get(
                f"{self.url}/auth/tokens",
                headers={"X-Subject-Token": token},
                raise_exc=False,
                log=False,
            )
        except ks_exceptions.ClientException as exc:
            log.error("token validation failed: %s", type(exc).__name__)
            raise ServiceUnavailable("the identity service cannot be reached") from None
        if response.status_code in (401, 403, 404):
            return None
        if response.status_code != 200:
            log.error("token validation: Keystone answered %s", response.status_code)
            raise ServiceUnavailable("the identity service cannot validate tokens now")
        return access.create(body=response.json(), auth_token=token)


def _monotonic_deadline(expires: datetime | None) -> float | None:
    if expires is None:
        return None
    remaining = (expires - datetime.now(UTC)).total_seconds()
    return time.monotonic() + max(0.0, remaining)
