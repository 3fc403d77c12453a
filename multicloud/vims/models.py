"""Cloud regions (VIMs) this service knows, with their credentials."""

from __future__ import annotations

from django.db import models

from multicloud import crypto


class CloudRegion(models.Model):
    """One registered cloud region, in A&AI's terms.

    The password and the notification transport URL are stored encrypted and
    are never returned by the API; use the ``password`` / ``notification_transport_url``
    properties to read them.
    """

    class Discovery(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    cloud_owner = models.CharField(max_length=255)
    cloud_region_id = models.CharField(max_length=255)
    cloud_type = models.CharField(max_length=64)
    cloud_region_version = models.CharField(max_length=64, blank=True, default="")
    identity_url = models.CharField(max_length=1024)
    username = models.CharField(max_length=255)
    password_encrypted = models.TextField()
    default_tenant = models.CharField(max_length=255)
    cloud_domain = models.CharField(max_length=255, default="Default")
    ssl_insecure = models.BooleanField(default=False)
    ssl_cacert = models.TextField(blank=True, default="")
    openstack_region_id = models.CharField(max_length=255, blank=True, default="")
    notification_transport_url_encrypted = models.TextField(blank=True, default="")
    notification_topics = models.JSONField(default=list, blank=True)
    notification_pool = models.CharField(max_length=255, blank=True, default="")
    #: What A&AI holds about the region, secrets removed (for GET .../registry).
    attributes = models.JSONField(default=dict, blank=True)
    discovery_status = models.CharField(
        max_length=16, choices=Discovery.choices, default=Discovery.PENDING
    )
    discovery_error = models.TextField(blank=True, default="")
    discovered = models.JSONField(default=dict, blank=True)
    discovered_at = models.DateTimeField(null=True, blank=True)
    generation = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cloud_owner", "cloud_region_id"], name="unique_cloud_region"
            )
        ]

    def __str__(self) -> str:
        return self.vim_id

    @property
    def vim_id(self) -> str:
        return f"{self.cloud_owner}_{self.cloud_region_id}"

    @property
    def password(self) -> str:
        return crypto.decrypt(self.password_encrypted)

    @password.setter
    def password(self, value: str) -> None:
        self.password_encrypted = crypto.encrypt(value)

    @property
    def notification_transport_url(self) -> str:
        return crypto.decrypt(self.notification_transport_url_encrypted)

    @notification_transport_url.setter
    def notification_transport_url(self, value: str) -> None:
        self.notification_transport_url_encrypted = crypto.encrypt(value)


class AaiFootprint(models.Model):
    """What this service wrote into A&AI for one region (``aai`` registry mode).

    Re-registration reconciles against it and unregistration removes exactly it;
    objects that other components created are never listed here.
    """

    region = models.OneToOneField(CloudRegion, on_delete=models.CASCADE, related_name="aai")
    #: ``defaultTenant`` of the registration request (overrides esr-system-info's).
    default_tenant = models.CharField(max_length=255, blank=True, default="")
    #: The identity proxy URL written into the cloud-region, and what it held before.
    identity_url = models.CharField(max_length=1024, blank=True, default="")
    previous_identity_url = models.CharField(max_length=1024, blank=True, default="")
    wrote_identity_url = models.BooleanField(default=False)
    #: category -> A&AI paths this service created; "edges" -> [from, type, to] it added.
    written = models.JSONField(default=dict, blank=True)
    #: Objects it would have removed but A&AI keeps (in use by others), with the reason.
    kept = models.JSONField(default=list, blank=True)
