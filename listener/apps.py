from django.apps import AppConfig


class ListenerConfig(AppConfig):
    """The worker: ``run_listener`` (its models live in :mod:`multicloud.events`)."""

    name = "listener"
    label = "listener_worker"
    verbose_name = "Event federation worker"
