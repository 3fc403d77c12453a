"""oslo.messaging configuration for our transports (no Django here: tools import it too),
and a bounded probe of a RabbitMQ broker."""

from __future__ import annotations

import logging
from typing import Any

from multicloud.messaging_url import parse_conf

#: x-delivery-limit of our quorum queues: RabbitMQ 4 defaults to 20 redeliveries, after which a
#: message is dropped; the listener requeues on purpose while the database is down.
QUORUM_DELIVERY_LIMIT = 1_000_000


def oslo_config(prefetch: int, durable: bool = False, quorum: bool = False):
    """A private oslo.config for our transports (never the global CONF).

    ``durable``/``quorum`` must match the cloud's ``[oslo_messaging_rabbit]``
    ``amqp_durable_queues``/``rabbit_quorum_queue``: RabbitMQ refuses to redeclare an
    exchange or queue with other flags (406 PRECONDITION_FAILED).
    """
    from oslo_config import cfg
    from oslo_messaging import opts

    conf = cfg.ConfigOpts()
    for group, options in opts.list_opts():
        conf.register_opts(options, group=group)
    conf([], project="multicloud-listener")
    # NOTE: bound what RabbitMQ pushes to us before we ack: unacked deliveries are
    # redelivered if we die, but there is no reason to hold thousands of them.
    rabbit = "oslo_messaging_rabbit"
    conf.set_override("rabbit_qos_prefetch_count", prefetch, group=rabbit)
    conf.set_override("amqp_durable_queues", durable or quorum, group=rabbit)
    conf.set_override("rabbit_quorum_queue", quorum, group=rabbit)
    if quorum:
        conf.set_override("rabbit_quorum_delivery_limit", QUORUM_DELIVERY_LIMIT, group=rabbit)
    return conf


def broker_reachable(url: str, timeout: float) -> str:
    """ "" when one of the URL's RabbitMQ brokers accepts our login within ``timeout``
    seconds, else why not (safe to log: no password). Other drivers are not probed."""
    from oslo_messaging import TransportURL

    parsed = TransportURL.parse(parse_conf(), url)
    if parsed.transport.split("+")[0] not in ("rabbit", "kombu"):
        return ""
    problems = []
    for host in parsed.hosts:
        problem = _probe_rabbit(host, parsed.virtual_host or "/", parsed.query, timeout)
        if not problem:
            return ""
        problems.append(f"{host.hostname}:{host.port or 5672}: {problem}")
    return "; ".join(problems)


def _probe_rabbit(host, vhost: str, query: dict, timeout: float) -> str:
    import kombu

    connection = kombu.Connection(
        hostname=host.hostname,
        port=host.port or 5672,
        userid=host.username or "guest",
        password=host.password or "guest",
        virtual_host=vhost,
        ssl=str(query.get("ssl", "")).lower() in ("1", "true", "yes"),
        connect_timeout=timeout,
    )
    try:
        connection.connect()
        return ""
    except Exception as exc:  # noqa: BLE001 (socket, AMQP and TLS errors alike)
        return f"{type(exc).__name__}: {str(exc)[:160]}"
    finally:
        connection.release()


class _KeepRedeliveries:
    """Stands in for oslo.messaging's per-listener cache of recently acknowledged message ids.

    After a dropped connection the broker redelivers what it did not see acknowledged; the
    cache made oslo.messaging log "ignoring duplicate message" and leave those deliveries
    unacknowledged (each holding a prefetch slot) until the listener stopped. The outbox is
    idempotent on Nova's message id, so a redelivery goes to the endpoint like any other
    notification: already stored, it is acknowledged; not stored yet, it is stored.
    """

    def check_duplicate_message(self, message: dict) -> object:
        from oslo_messaging._drivers import amqp

        return message.pop(amqp.UNIQUE_ID, None)

    def add(self, msg_id: object) -> None:
        pass


def keep_redeliveries(server: object) -> None:
    """Let redelivered notifications reach the endpoint (see :class:`_KeepRedeliveries`);
    call after ``start()``. Does nothing on a driver without that cache."""
    adapter = getattr(server, "listener", None)
    poller = getattr(adapter, "_poll_style_listener", None)
    if poller is not None and hasattr(poller, "msg_id_cache"):
        poller.msg_id_cache = _KeepRedeliveries()


class _PatientPoll:
    """Stands in for a batch listener's ``poll``: waits up to ``idle_timeout`` for the first
    notification, then gathers the rest of the batch for ``batch_timeout`` as before.

    oslo.messaging's batch listener waits ``batch_timeout`` (0.05 s) for a whole batch and
    polls again, so an idle region woke its thread 20 times a second: 100 idle regions
    cost a third of a core. Waiting longer for the first notification only delays a stop
    (bounded by ``idle_timeout``); a notification is handed over as soon as its batch is
    gathered, and acknowledgements keep being sent meanwhile (the driver's own wait for
    the next message starts at 1 ms and doubles).
    """

    def __init__(self, poll: Any, idle_timeout: float):
        self._poll = poll
        self.idle_timeout = idle_timeout

    def __call__(
        self, timeout: float | None = None, batch_size: int = 1, batch_timeout: float | None = None
    ) -> list:
        first = self._poll(timeout=timeout, batch_size=1, batch_timeout=self.idle_timeout)
        if not first or batch_size <= 1:
            return list(first)
        rest = self._poll(timeout=timeout, batch_size=batch_size - 1, batch_timeout=batch_timeout)
        return [*first, *rest]


def patient_polls(server: object, idle_timeout: float) -> None:
    """Make a started batch listener wait for its first notification instead of waking
    every batch timeout (see :class:`_PatientPoll`). Does nothing on another driver."""
    adapter = getattr(server, "listener", None)
    poller = getattr(adapter, "_poll_style_listener", None)
    if poller is not None and callable(getattr(poller, "poll", None)):
        poller.poll = _PatientPoll(poller.poll, idle_timeout)


#: What py-amqp says for each delivery still arriving while a channel closes.
_IGNORED_DELIVERY = "Received method %s during closing channel %s. This method will be ignored"


class QuietClosingDeliveries(logging.Filter):
    """Drops py-amqp's warning about deliveries (basic.deliver, (60, 60)) that arrive while
    a channel closes at shutdown: they were never acknowledged, so the broker requeues them;
    with a prefetch of hundreds, every SIGTERM logged dozens of them."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        return not (
            record.msg == _IGNORED_DELIVERY
            and isinstance(args, tuple)
            and bool(args)
            and args[0] == (60, 60)
        )


def quiet_closing_deliveries() -> None:
    """Install :class:`QuietClosingDeliveries` on py-amqp's logger (once)."""
    logger = logging.getLogger("amqp")
    if not any(isinstance(f, QuietClosingDeliveries) for f in logger.filters):
        logger.addFilter(QuietClosingDeliveries())
