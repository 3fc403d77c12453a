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


#: Drivers that cannot carry a cloud's notifications to us (in-process only).
_NOT_FOR_CLOUDS = frozenset({"fake"})


def check_transport_url(url: str) -> str:
    """``url`` itself when oslo.messaging can use it, else ValueError with a safe message.

    Checked with oslo.messaging's own parser and against the drivers actually installed
    (and importable: a driver whose library is missing is refused). The message never
    repeats the URL (it carries a password).
    """
    from oslo_messaging import InvalidTransportURL, TransportURL

    try:
        parsed = TransportURL.parse(_parse_conf(), url)
    except (InvalidTransportURL, ValueError) as exc:
        reason = "bad port" if isinstance(exc, ValueError) else "no scheme"
        raise ValueError(f"is not an oslo.messaging transport URL ({reason})") from None
    driver = (parsed.transport or "").split("+")[0]
    if driver not in usable_drivers():
        raise ValueError(
            f"names driver {driver!r}, which is not an installed broker driver "
            f"(installed: {', '.join(sorted(usable_drivers())) or 'none'})"
        )
    if not parsed.hosts or not all(h.hostname for h in parsed.hosts):
        raise ValueError("names no broker host")
    if not all(h.port is None or 0 < h.port < 65536 for h in parsed.hosts):
        raise ValueError("has a port outside 1-65535")
    return url


_conf = None
_drivers: frozenset[str] | None = None


def _parse_conf():
    global _conf  # noqa: PLW0603 (one private ConfigOpts for parsing, built on first use)
    if _conf is None:
        _conf = oslo_config(prefetch=0)
    return _conf


def usable_drivers() -> frozenset[str]:
    """oslo.messaging drivers installed here that import (cached for the process)."""
    global _drivers  # noqa: PLW0603 (entry points do not change while we run)
    if _drivers is None:
        from importlib.metadata import entry_points

        found = set()
        for entry in entry_points(group="oslo.messaging.drivers"):
            try:
                entry.load()
            except Exception:  # noqa: BLE001, S112 (a driver missing its library is unusable)
                continue
            found.add(entry.name)
        _drivers = frozenset(found - _NOT_FOR_CLOUDS)
    return _drivers


def broker_reachable(url: str, timeout: float) -> str:
    """ "" when one of the URL's RabbitMQ brokers accepts our login within ``timeout``
    seconds, else why not (safe to log: no password). Other drivers are not probed."""
    from oslo_messaging import TransportURL

    parsed = TransportURL.parse(_parse_conf(), url)
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
