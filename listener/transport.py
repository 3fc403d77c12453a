"""oslo.messaging configuration for our transports (no Django here: tools import it too)."""

from __future__ import annotations

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
