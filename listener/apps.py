from django.apps import AppConfig


class ListenerConfig(AppConfig):
    name = "listener"
    label = "listener"
    verbose_name = "Event federation"
