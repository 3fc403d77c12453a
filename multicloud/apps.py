from django.apps import AppConfig


class MulticloudConfig(AppConfig):
    name = "multicloud"
    verbose_name = "Multicloud"
