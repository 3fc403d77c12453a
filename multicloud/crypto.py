"""Secrets at rest: Fernet with rotatable keys (MULTICLOUD_ENCRYPTION_KEY)."""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from multicloud.conf import get_settings
from multicloud.exceptions import MulticloudError


class UndecryptableSecret(MulticloudError):
    """A stored secret was encrypted with a key that is no longer configured.

    A clear 500 for a request (the operator dropped a key still in use), not a crash.
    """

    code = 500
    message = "a stored secret cannot be decrypted with the configured keys"


@cache
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in get_settings().encryption_keys])


def encrypt(plain: str) -> str:
    """Ciphertext (text) of ``plain``; the empty string stays empty."""
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableSecret(
            "a stored secret cannot be decrypted with the configured keys"
        ) from None


def rotate(token: str) -> str:
    """``token`` re-encrypted under the first configured key (the empty string stays)."""
    if not token:
        return ""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableSecret() from None
