from django.apps import AppConfig


class VimsConfig(AppConfig):
    name = "multicloud.vims"
    label = "vims"
    verbose_name = "Cloud regions"
