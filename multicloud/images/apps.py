from django.apps import AppConfig


class ImagesConfig(AppConfig):
    name = "multicloud.images"
    label = "images"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from multicloud.images.cleanup import forget_region
        from multicloud.vims.models import CloudRegion

        post_delete.connect(
            forget_region, sender=CloudRegion, dispatch_uid="multicloud.images.cleanup"
        )
