"""Secrets at rest are Fernet-encrypted and survive key rotation."""

import pytest
from cryptography.fernet import Fernet

from multicloud import crypto


@pytest.fixture
def keys(override_settings):
    def use(*keys):
        override_settings(MULTICLOUD_ENCRYPTION_KEY=",".join(keys))

    return use


def test_a_secret_round_trips_and_is_not_stored_in_clear(keys):
    keys(Fernet.generate_key().decode())
    token = crypto.encrypt("p4ssw0rd")
    assert "p4ssw0rd" not in token
    assert crypto.decrypt(token) == "p4ssw0rd"


def test_an_old_key_still_decrypts_after_rotation(keys):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    keys(old)
    token = crypto.encrypt("secret")
    keys(new, old)
    assert crypto.decrypt(token) == "secret"


def test_a_secret_from_an_unknown_key_is_reported(keys):
    keys(Fernet.generate_key().decode())
    token = crypto.encrypt("secret")
    keys(Fernet.generate_key().decode())
    with pytest.raises(crypto.UndecryptableSecret):
        crypto.decrypt(token)


def test_empty_stays_empty(keys):
    keys(Fernet.generate_key().decode())
    assert crypto.encrypt("") == "" and crypto.decrypt("") == ""
