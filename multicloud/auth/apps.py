"""Django app of the API users (``multicloud.auth``; label ``multicloud_auth``)."""

from django.apps import AppConfig


class AuthConfig(AppConfig):
    # NOTE: the label must differ from django.contrib.auth's "auth".
    name = "multicloud.auth"
    label = "multicloud_auth"
    default_auto_field = "django.db.models.BigAutoField"
