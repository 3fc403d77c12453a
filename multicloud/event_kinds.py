"""What a VM event is: its kind, the phase of the action, the Nova format it came in.

Stdlib only, so configuration, the notification mapper, the status poller and the REST
handlers share one definition.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum


class Kind(StrEnum):
    """What happened to the VM (the spec's event kinds, plus UPDATE and ERROR)."""

    CREATE = "CREATE"
    DELETE = "DELETE"
    SOFT_DELETE = "SOFT_DELETE"
    SHUT_DOWN = "SHUT_DOWN"
    POWER_OFF = "POWER_OFF"
    POWER_ON = "POWER_ON"
    PAUSE = "PAUSE"
    UNPAUSE = "UNPAUSE"
    SUSPEND = "SUSPEND"
    RESUME = "RESUME"
    REBOOT = "REBOOT"
    REBUILD = "REBUILD"
    SHELVE = "SHELVE"
    UNSHELVE = "UNSHELVE"
    RESIZE = "RESIZE"
    RESTORE = "RESTORE"
    UPDATE = "UPDATE"
    ERROR = "ERROR"


class Phase(StrEnum):
    """Where in the action the notification was sent; NONE for phase-less event types."""

    START = "START"
    END = "END"
    ERROR = "ERROR"
    NONE = "NONE"


class Format(StrEnum):
    """Nova notification format."""

    LEGACY = "LEGACY"  # compute.instance.*, flat payload
    VERSIONED = "VERSIONED"  # instance.*, nova_object payload


#: Every kind's name, in declaration order.
KIND_NAMES: tuple[str, ...] = tuple(kind.value for kind in Kind)
#: Every phase's name, in declaration order.
PHASE_NAMES: tuple[str, ...] = tuple(phase.value for phase in Phase)

#: Phases kept unless ``MULTICLOUD_EVENTS_PHASES`` says otherwise.
DEFAULT_PHASES: frozenset[Phase] = frozenset({Phase.END, Phase.ERROR})

#: Nova's ``[notifications] notification_format`` values -> the format events are taken from.
NOVA_SETTING_FORMATS: dict[str, Format] = {
    "unversioned": Format.LEGACY,
    "versioned": Format.VERSIONED,
    "both": Format.VERSIONED,
}
#: What ``MULTICLOUD_EVENTS_PREFER_FORMAT`` accepts.
PREFER_FORMATS: tuple[str, ...] = ("unversioned", "versioned")
#: Nova's own default ``notification_format``, hence ours: one event per action out of the box.
DEFAULT_PREFER_FORMAT = "unversioned"


def parse_timestamp(value: str) -> datetime:
    """Parse a Nova timestamp into an aware UTC datetime.

    Accepts the notifier's naive "2026-11-25 11:22:38.172502" (Nova writes UTC) and ISO-8601
    with ``Z`` or an offset. Raises ValueError on anything else.
    """
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_timestamp(moment: datetime) -> str:
    """Render an aware datetime as ISO-8601 UTC with microseconds and a ``Z`` suffix."""
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"
