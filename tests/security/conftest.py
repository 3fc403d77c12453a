"""Security tests: authentication modes, the policy table, the audit's exploits (safe now).

``api_users`` creates one API user per role (a fast hasher: the default PBKDF2 costs
about half a second per user and has its own test). Settings change through the
suite's ``override_settings`` fixture.
"""

from __future__ import annotations

import base64

import pytest

PASSWORDS = {"admin": "admin-pass-1", "member": "member-pass-1", "reader": "reader-pass-1"}


@pytest.fixture
def api_users(db, settings):
    """Users ``admin``, ``member``, ``reader`` (each with that role) in the database."""
    from django.contrib.auth.hashers import make_password

    from multicloud.auth.models import ApiUser

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    for role, password in PASSWORDS.items():
        ApiUser.objects.create(name=role, role=role, password=make_password(password))
    return PASSWORDS


def basic(name: str, password: str) -> dict[str, str]:
    """The Authorization header of HTTP Basic."""
    token = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}
