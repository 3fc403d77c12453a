"""Heatbridge jobs: one database record per stack, visible to every worker and replica."""

from __future__ import annotations

from django.db import models

from multicloud.vims.models import CloudRegion


class HeatbridgeJob(models.Model):
    """The heatbridge of one stack into A&AI: its state, its inputs and what it wrote.

    A job runs in a thread of the worker that started it and renews ``lease_until``
    as it goes; a job whose lease ran out (its process ended) is resumed by the next
    worker that reads it. ``generation`` grows with every rerun (and the stack's
    deletion), so a superseded run stops writing.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    region = models.ForeignKey(
        CloudRegion, on_delete=models.CASCADE, related_name="heatbridge_jobs"
    )
    stack_id = models.CharField(max_length=64)
    stack_name = models.CharField(max_length=255)
    #: The project the stack lives in (the request's ``Project``, as an id).
    project_id = models.CharField(max_length=64)
    generic_vnf_id = models.CharField(max_length=255, blank=True, default="")
    vf_module_id = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True, default="")
    #: What the last run wrote: counts, and relationships whose other end A&AI lacks.
    result = models.JSONField(default=dict, blank=True)
    #: A&AI paths of the vservers and l-interfaces heatbridge wrote (removed with the stack).
    written = models.JSONField(default=dict, blank=True)
    generation = models.PositiveIntegerField(default=1)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "workload_heatbridge_job"
        constraints = [
            models.UniqueConstraint(fields=["region", "stack_id"], name="unique_heatbridge_stack")
        ]

    def __str__(self) -> str:
        return f"heatbridge of {self.stack_name}/{self.stack_id} ({self.status})"
