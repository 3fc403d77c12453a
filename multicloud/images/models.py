"""Staging records: the local copies of uploaded images, kept for a while for reuse."""

from __future__ import annotations

import uuid

from django.db import models


class StagedImage(models.Model):
    """One staged copy on local disk, with the digest computed while it was received."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    path = models.CharField(max_length=1024)
    size = models.BigIntegerField()
    #: The digest computed while the copy was received (hashlib name, hex value).
    hash_algo = models.CharField(max_length=32, default="sha512")
    hash_value = models.CharField(max_length=128)
    name = models.CharField(max_length=255, blank=True, default="")
    disk_format = models.CharField(max_length=16, blank=True, default="")
    container_format = models.CharField(max_length=16, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "image_staging"


class StagedUpload(models.Model):
    """A Glance image made from a staged copy (so a later request can name it as the source)."""

    staged = models.ForeignKey(StagedImage, on_delete=models.CASCADE, related_name="uploads")
    vim_id = models.CharField(max_length=255)
    image_id = models.CharField(max_length=64)

    class Meta:
        db_table = "image_staging_upload"
        indexes = [models.Index(fields=["vim_id", "image_id"])]


class PendingImage(models.Model):
    """A Glance image an upload created and has not finished (verified or deleted) yet.

    ``path`` is the staged file its bytes come from (``.part`` while they arrive,
    ``.img`` once complete, empty before a URL fetch has started); ``host`` is the
    machine of the server that created it. A worker that dies mid-upload leaves
    the note behind, and the next start-up removes the half-created image
    (:func:`multicloud.images.pending.sweep`).
    """

    vim_id = models.CharField(max_length=255)
    tenant = models.CharField(max_length=255)
    image_id = models.CharField(max_length=64)
    path = models.CharField(max_length=1024, blank=True, default="")
    host = models.CharField(max_length=255)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "image_pending"
        indexes = [models.Index(fields=["vim_id", "image_id"])]
