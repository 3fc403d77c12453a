"""The outbox of accepted VM events, and who wants which events where."""

from __future__ import annotations

from django.db import models


class Event(models.Model):
    """One accepted Nova event (the outbox row), idempotent on (vim_id, Nova message_id).

    ``topics`` are the Message Router topics the event was routed to when it was accepted;
    ``pending_topics`` the ones still to publish to, ``dead_topics`` those that refused it.
    The row is ``published`` when nothing is pending and nothing died, ``dead`` when nothing
    is pending and some topic refused it. ``claimed_by``/``claimed_until`` are the lease of
    the publisher currently sending it (a crashed publisher's lease simply runs out).
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        PUBLISHED = "published"
        DEAD = "dead"

    cloud_owner = models.CharField(max_length=255)
    cloud_region_id = models.CharField(max_length=255)
    vim_id = models.CharField(max_length=511)
    message_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=255)
    kind = models.CharField(max_length=32)
    phase = models.CharField(max_length=16)
    instance_id = models.CharField(max_length=64, blank=True, default="")
    #: Nova's timestamp of the notification (the event order within a region).
    emitted_at = models.DateTimeField()
    message = models.JSONField()
    topics = models.JSONField(default=list)
    pending_topics = models.JSONField(default=list)
    dead_topics = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True, default="")
    claimed_by = models.CharField(max_length=128, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["emitted_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["vim_id", "message_id"], name="unique_event_per_region")
        ]
        indexes = [
            models.Index(
                fields=["status", "vim_id", "emitted_at", "id"], name="event_outbox_order"
            ),
            models.Index(fields=["vim_id", "emitted_at", "id"], name="event_region_time"),
        ]

    def __str__(self) -> str:
        return f"{self.vim_id}/{self.message_id} {self.event_type} ({self.status})"


class Subscription(models.Model):
    """A user's choice: events of these kinds (``states``) of a region go to ``topic``."""

    cloud_owner = models.CharField(max_length=255)
    cloud_region_id = models.CharField(max_length=255)
    topic = models.CharField(max_length=249)
    states = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cloud_owner", "cloud_region_id", "topic"]
        constraints = [
            models.UniqueConstraint(
                fields=["cloud_owner", "cloud_region_id", "topic"],
                name="unique_subscription_per_region_topic",
            )
        ]

    def __str__(self) -> str:
        return f"{self.cloud_owner}_{self.cloud_region_id} -> {self.topic}"
