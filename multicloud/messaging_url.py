"""oslo.messaging transport URLs: checked with oslo.messaging's own parser and the drivers
actually installed, before a registration or the configuration accepts one.

No Django and no project imports: the configuration (:mod:`multicloud.conf`), the region
registry and the listener all use it. oslo.messaging is imported on first use only.
"""

from __future__ import annotations

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
        parsed = TransportURL.parse(parse_conf(), url)
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


def parse_conf():
    """A private oslo.config with oslo.messaging's options (never the global CONF)."""
    global _conf  # noqa: PLW0603 (one private ConfigOpts for parsing, built on first use)
    if _conf is None:
        from oslo_config import cfg
        from oslo_messaging import opts

        conf = cfg.ConfigOpts()
        for group, options in opts.list_opts():
            conf.register_opts(options, group=group)
        conf([], project="multicloud-listener")
        _conf = conf
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
