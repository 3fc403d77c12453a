"""API users of the ``basic`` authentication mode."""

from __future__ import annotations

from django.db import models

from multicloud.auth.identity import ROLES


class ApiUser(models.Model):
    """One caller of this API: a name, a Django password hash and one role."""

    name = models.CharField(max_length=150, unique=True)
    password = models.CharField(max_length=256)
    role = models.CharField(max_length=16, choices=[(r, r) for r in ROLES])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)

    def __repr__(self) -> str:
        return f"<ApiUser {self.name} ({self.role})>"
