"""Secrets at rest: Fernet with rotatable keys (MULTICLOUD_ENCRYPTION_KEY)."""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from multicloud.conf import get_settings


class UndecryptableSecret(Exception):
    """A stored secret was encrypted with a key that is no longer configured."""


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
