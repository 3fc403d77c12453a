"""Who is calling: the identity an authenticator vouches for, and the 401 it raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from multicloud.exceptions import Unauthorized

#: Roles this service knows, strongest first (the default policy: each implies the next).
ROLES = ("admin", "member", "reader")


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: a user name or id, its roles and (Keystone) project."""

    user: str
    roles: frozenset[str]
    project: str = ""
    method: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def credentials(self) -> dict[str, Any]:
        """The credentials dict oslo.policy checks rules against."""
        return {
            "user_id": self.user,
            "project_id": self.project,
            "roles": sorted(role.lower() for role in self.roles),
        }


class AuthenticationRequired(Unauthorized):
    """401 with the ``WWW-Authenticate`` challenge of the configured mode."""

    def __init__(self, challenge: str, message: str | None = None):
        super().__init__(message)
        self.challenge = challenge

    def headers(self) -> list[tuple[str, str]]:
        return [("WWW-Authenticate", self.challenge)]
