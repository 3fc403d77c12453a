"""The outbox of accepted VM events, and who wants which events where."""

from __future__ import annotations

from django.db import models


class Status(models.TextChoices):
    PENDING = "pending"
    PUBLISHED = "published"
    DEAD = "dead"


#: The sinks' names.
MESSAGE_ROUTER = "message-router"  # DMaaP Message Router, POST /events/{topic}
VES = "ves"  # the DCAE VES collector, /eventListener/v7


class Sink(models.TextChoices):
    """Where a subscription's events go."""

    MESSAGE_ROUTER = MESSAGE_ROUTER
    VES = VES


def destination(sink: str, topic: str) -> str:
    """How a delivery is named in an event's ``topics``: the Message Router topic as it is,
    other sinks as ``<sink>:<name>``."""
    return topic if sink == MESSAGE_ROUTER else f"{sink}:{topic}"


class Event(models.Model):
    """One accepted Nova event, idempotent on (vim_id, Nova message_id).

    ``topics`` are the topics the event was routed to when it was accepted; each has a
    :class:`Delivery` (the unit the publisher claims, retries and dead-letters). ``status``,
    ``dead_topics``, ``published_at`` and ``last_error`` summarise the deliveries: the event
    is ``published`` when every delivery is, ``dead`` when none is pending and one died.
    """

    Status = Status

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
    dead_topics = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    last_error = models.TextField(blank=True, default="")
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


class Delivery(models.Model):
    """One event on its way to one topic: claimed, retried and dead-lettered on its own,
    so a topic Message Router refuses never holds back the region's other topics.

    ``emitted_at`` repeats the event's Nova time (the order within region + topic).
    ``claimed_by``/``claimed_until`` are the lease of the publisher sending it.
    """

    Status = Status

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    vim_id = models.CharField(max_length=511)
    sink = models.CharField(max_length=32, choices=Sink.choices, default=Sink.MESSAGE_ROUTER)
    topic = models.CharField(max_length=249)
    emitted_at = models.DateTimeField()
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
            models.UniqueConstraint(
                fields=["event", "sink", "topic"], name="unique_delivery_per_sink_topic"
            )
        ]
        indexes = [
            models.Index(
                fields=["status", "vim_id", "sink", "topic", "emitted_at", "id"],
                name="delivery_sink_queue_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vim_id}/{self.event_id} -> {self.topic} ({self.status})"


class InboundDeadLetter(models.Model):
    """A notification that can never become an event (a retry would not cure it): parked
    with the reason and acknowledged, so it is neither lost silently nor requeued forever.

    ``notification`` is the JSON text as received (NaN and ``\\u0000`` escaped), never
    the request context.
    """

    vim_id = models.CharField(max_length=511)
    message_id = models.CharField(max_length=255, blank=True, default="")
    event_type = models.CharField(max_length=255, blank=True, default="")
    priority = models.CharField(max_length=16, blank=True, default="")
    reason = models.TextField()
    notification = models.TextField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_at", "id"]
        indexes = [models.Index(fields=["vim_id", "received_at"], name="inbound_dead_region_time")]

    def __str__(self) -> str:
        return f"{self.vim_id}/{self.message_id} {self.event_type}: {self.reason[:60]}"


class Subscription(models.Model):
    """A user's choice: events of these kinds (``states``) of a region go to ``topic``."""

    cloud_owner = models.CharField(max_length=255)
    cloud_region_id = models.CharField(max_length=255)
    sink = models.CharField(max_length=32, choices=Sink.choices, default=Sink.MESSAGE_ROUTER)
    #: The Message Router topic; for the VES sink, a name of the subscription's queue.
    topic = models.CharField(max_length=249)
    states = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cloud_owner", "cloud_region_id", "sink", "topic"]
        constraints = [
            models.UniqueConstraint(
                fields=["cloud_owner", "cloud_region_id", "sink", "topic"],
                name="unique_subscription_per_region_sink_topic",
            )
        ]

    def __str__(self) -> str:
        return f"{self.cloud_owner}_{self.cloud_region_id} -> {destination(self.sink, self.topic)}"


class ServerState(models.Model):
    """The last known state of one server, written in the outbox transaction by the listener
    (from each notification) and by the reconciler (from Nova's server list).

    The reconciler emits an event only for a settled state that differs from this one, so
    a change the listener stored is never reported again; ``fault`` remembers a raised VES
    fault (``error`` or ``power-off``) until the server is back in service.
    """

    vim_id = models.CharField(max_length=511)
    instance_id = models.CharField(max_length=64)
    vm_state = models.CharField(max_length=32, blank=True, default="")
    task_state = models.CharField(max_length=64, blank=True, default="")
    #: Nova's time of this state (the notification's timestamp, or the server's ``updated``).
    changed_at = models.DateTimeField()
    source = models.CharField(max_length=16, default="listener")
    fault = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["vim_id", "instance_id"], name="unique_server_state_per_region"
            )
        ]

    def __str__(self) -> str:
        return f"{self.vim_id}/{self.instance_id} {self.vm_state}"


class ReconcileCursor(models.Model):
    """How far the reconciler of a region has looked: Nova changes up to ``reconciled_to``
    are settled; ``baseline_at`` is when its first full listing was taken (servers created
    after it and never seen are reported as created)."""

    vim_id = models.CharField(max_length=511, unique=True)
    baseline_at = models.DateTimeField()
    reconciled_to = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.vim_id} reconciled to {self.reconciled_to}"
