"""An unregistered region's staged copies go with it (unless another region used them)."""

from __future__ import annotations


def forget_region(sender, instance, **kwargs) -> None:
    """``post_delete`` of a CloudRegion: its upload records, and copies only it used."""
    from multicloud.images import staging
    from multicloud.images.models import StagedImage, StagedUpload

    ids = set(StagedUpload.objects.filter(vim_id=instance.vim_id).values_list("staged", flat=True))
    StagedUpload.objects.filter(vim_id=instance.vim_id).delete()
    for staged in StagedImage.objects.filter(pk__in=ids, uploads__isnull=True):
        staging.discard(staged)
