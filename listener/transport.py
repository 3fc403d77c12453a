"""oslo.messaging configuration for our transports (no Django here: tools import it too)."""

from __future__ import annotations


def oslo_config(prefetch: int):
    """A private oslo.config for our transports (never the global CONF)."""
    from oslo_config import cfg
    from oslo_messaging import opts

    conf = cfg.ConfigOpts()
    for group, options in opts.list_opts():
        conf.register_opts(options, group=group)
    conf([], project="multicloud-listener")
    # NOTE: bound what RabbitMQ pushes to us before we ack: unacked deliveries are
    # redelivered if we die, but there is no reason to hold thousands of them.
    conf.set_override("rabbit_qos_prefetch_count", prefetch, group="oslo_messaging_rabbit")
    return conf
