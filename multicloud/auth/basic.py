"""``MULTICLOUD_AUTH=basic``: HTTP Basic against the API users in the database.

Passwords are Django password hashes (``django.contrib.auth.hashers``, PBKDF2 by
default). A successful check is remembered briefly, keyed by an HMAC of the
password under a per-process key, so a client does not pay the hasher on every
request; the user row (role, hash) is still read on every request, so
``api_user set-role`` and ``delete`` take effect at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from django.contrib.auth.hashers import check_password, make_password

from multicloud.auth.cache import TTLCache
from multicloud.auth.identity import AuthenticationRequired, Identity

CHALLENGE = 'Basic realm="multicloud", charset="UTF-8"'


class BasicAuthenticator:
    """Checks ``Authorization: Basic`` against :class:`~multicloud.auth.models.ApiUser`."""

    challenge = CHALLENGE

    def __init__(self, cache_ttl: float):
        self._verified = TTLCache(cache_ttl)
        self._key = os.urandom(32)

    def authenticate(self, headers) -> Identity:
        """The caller's identity, or 401 with the Basic challenge."""
        name, password = _credentials(headers.get("authorization", ""))
        from multicloud.auth.models import ApiUser

        user = ApiUser.objects.filter(name=name).first()
        if user is None:
            # NOTE: hash anyway, so an unknown name costs as long as a wrong password.
            make_password(password)
            raise AuthenticationRequired(CHALLENGE, "wrong user name or password")
        if not self._check(user.name, password, user.password):
            raise AuthenticationRequired(CHALLENGE, "wrong user name or password")
        return Identity(user=user.name, roles=frozenset([user.role]), method="basic")

    def _check(self, name: str, password: str, encoded: str) -> bool:
        key = (name, hmac.new(self._key, password.encode(), hashlib.sha256).digest())
        if self._verified.get(key) == encoded:
            return True
        if not check_password(password, encoded):
            return False
        self._verified.put(key, encoded)
        return True


def _credentials(header: str) -> tuple[str, str]:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise AuthenticationRequired(CHALLENGE)
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise AuthenticationRequired(CHALLENGE, "malformed Basic credentials") from None
    name, colon, password = decoded.partition(":")
    if not colon or not name:
        raise AuthenticationRequired(CHALLENGE, "malformed Basic credentials")
    return name, password
