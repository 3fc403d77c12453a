from django.apps import AppConfig


class EventsConfig(AppConfig):
    """Subscriptions and the stored events (the listener's outbox).

    NOTE: the label stays ``listener``, the app these models were first created in, so the
    tables and the migration history of existing databases are unchanged.
    """

    name = "multicloud.events"
    label = "listener"
    verbose_name = "Event federation"
    default_auto_field = "django.db.models.BigAutoField"
