"""Nova instance notifications: classify, normalise and shape them for the bus.

Framework-free (stdlib only) so the oslo.messaging endpoint, the outbox and the tests can all
use it. The endpoint calls :func:`parse` with what oslo.messaging hands it (minus ``ctxt``,
which is never read: it carries the caller's token), then :func:`wanted` and
:meth:`FormatPolicy.accepts` to decide whether to keep the event, then :func:`to_message`.

Formats
    Nova emits *legacy* (``compute.instance.*``, flat payload built by
    ``info_from_instance``) and/or *versioned* (``instance.*``, ovo payload under
    ``nova_object.data``) notifications, depending on ``[notifications] notification_format``.

One payload shape
    :attr:`NovaEvent.payload` always has the legacy field names, because the ONAP spec's
    example message is a legacy payload. Legacy payloads are kept as Nova sent them (scrubbed).
    Versioned payloads are mapped (see :func:`legacy_payload`):

    * ``uuid`` -> ``instance_id``, ``host_name`` -> ``hostname``, ``task_state`` ->
      ``state_description`` (``None`` -> ``""``), ``progress`` 0/None -> ``""``.
    * flavor ``name``/``flavorid``/``memory_mb``/``vcpus``/``root_gb``/``ephemeral_gb`` ->
      ``instance_type``/``instance_flavor_id``/... and ``disk_gb = root_gb + ephemeral_gb``.
    * ``image_uuid`` is kept and also copied to ``image_ref_url``. Legacy puts a Glance URL
      there; versioned only knows the id, so consumers must not assume a URL.
    * ``ip_addresses`` -> ``fixed_ips``: a list of ``{address, version, label, vif_mac,
      meta, port_uuid}``; ``vif_mac`` is the legacy name of ``mac``.
    * ``created_at`` becomes legacy ``str(datetime)`` ("2026-11-25 11:22:37+00:00"),
      ``launched_at``/``terminated_at``/``deleted_at`` legacy isotime
      ("2026-11-25T11:22:39.000000"), ``""`` when null.
    * ``instance_type_id``, ``cell_name``, ``access_ip_v4``, ``access_ip_v6`` and
      ``image_meta`` do not exist in versioned payloads: they are set to ``None`` (not
      guessed, not fetched from the Nova/Glance APIs).
    * ``power_state`` and ``image_uuid`` are versioned-only extras kept on purpose. The
      ``instance.update`` extras are flattened to the legacy ``old_state``, ``old_task_state``,
      ``new_task_state``, ``old_display_name``, ``audit_period_beginning``/``_ending``; a
      ``fault`` becomes ``exception`` (class name) and ``message``. Other versioned-only
      fields (locked, key_name, request_id, action_initiator_*, block_devices, tags...) are
      dropped.
    * A versioned payload that is not about an instance (``compute.exception`` carries an
      ``ExceptionPayload``) is only unwrapped; its ``function_name`` gives the kind when it
      names a compute-manager action, else the kind is :attr:`Kind.ERROR`.

Secrets
    :func:`scrub` removes ``_context*`` keys and every key containing ``token``, ``password``
    or ``secret`` (so ``auth_token``, ``service_token``...) plus ``service_catalog``, at any
    depth. Nova has been seen nesting a whole request context (with a live token) inside
    ``request_spec`` payloads.

Duplicates
    With ``notification_format=both`` every action arrives twice. A :class:`FormatPolicy`
    keeps one format; the other is dropped at the filter stage, i.e. acknowledged on purpose
    and not forwarded. Nothing is lost: the kept format carries the same action.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from multicloud.event_kinds import (
    DEFAULT_PHASES,
    DEFAULT_PREFER_FORMAT,
    NOVA_SETTING_FORMATS,
    Format,
    Kind,
    Phase,
    format_timestamp,
    parse_timestamp,
)

_PHASES = {"start": Phase.START, "end": Phase.END, "error": Phase.ERROR}

_COMMON_ACTIONS = {
    "create": Kind.CREATE,
    "delete": Kind.DELETE,
    "soft_delete": Kind.SOFT_DELETE,
    "shutdown": Kind.SHUT_DOWN,
    "power_off": Kind.POWER_OFF,
    "power_on": Kind.POWER_ON,
    "pause": Kind.PAUSE,
    "unpause": Kind.UNPAUSE,
    "suspend": Kind.SUSPEND,
    "resume": Kind.RESUME,
    "reboot": Kind.REBOOT,
    "rebuild": Kind.REBUILD,
    "shelve": Kind.SHELVE,
    "shelve_offload": Kind.SHELVE,
    "unshelve": Kind.UNSHELVE,
    "resize": Kind.RESIZE,
    "restore": Kind.RESTORE,
    "update": Kind.UPDATE,
}

_ACTIONS: dict[Format, dict[str, Kind]] = {
    Format.LEGACY: {
        **_COMMON_ACTIONS,
        "resize.prep": Kind.RESIZE,
        "finish_resize": Kind.RESIZE,
        "resize.confirm": Kind.RESIZE,
        "resize.revert": Kind.RESIZE,
    },
    Format.VERSIONED: {
        **_COMMON_ACTIONS,
        "resize_prep": Kind.RESIZE,
        "resize_finish": Kind.RESIZE,
        "resize_confirm": Kind.RESIZE,
        "resize_revert": Kind.RESIZE,
        "rebuild_scheduled": Kind.REBUILD,
    },
}

# Actions Nova sends without a .start/.end suffix.
_PHASELESS = frozenset({"update", "rebuild_scheduled"})

_PREFIXES = (("compute.instance.", Format.LEGACY), ("instance.", Format.VERSIONED))

# Versioned exception notifications: not tied to one instance, kind derived from the payload.
EXCEPTION_EVENT_TYPE = "compute.exception"

# compute-manager method names (ExceptionPayload.function_name) -> kind.
_FUNCTION_KINDS = {
    "build_and_run_instance": Kind.CREATE,
    "terminate_instance": Kind.DELETE,
    "soft_delete_instance": Kind.SOFT_DELETE,
    "stop_instance": Kind.POWER_OFF,
    "start_instance": Kind.POWER_ON,
    "pause_instance": Kind.PAUSE,
    "unpause_instance": Kind.UNPAUSE,
    "suspend_instance": Kind.SUSPEND,
    "resume_instance": Kind.RESUME,
    "reboot_instance": Kind.REBOOT,
    "rebuild_instance": Kind.REBUILD,
    "shelve_instance": Kind.SHELVE,
    "shelve_offload_instance": Kind.SHELVE,
    "unshelve_instance": Kind.UNSHELVE,
    "prep_resize": Kind.RESIZE,
    "resize_instance": Kind.RESIZE,
    "finish_resize": Kind.RESIZE,
    "confirm_resize": Kind.RESIZE,
    "revert_resize": Kind.RESIZE,
    "finish_revert_resize": Kind.RESIZE,
    "restore_instance": Kind.RESTORE,
}


# --------------------------------------------------------------------------- classification


def classify(event_type: str) -> tuple[Format, Kind, Phase] | None:
    """Map a Nova event type to (format, kind, phase), or None when it is not one we handle.

    None is returned for non-instance events (``scheduler.*``, ``aggregate.*``...), for
    instance actions outside the kinds table (snapshot, volume_attach, live_migration_*...)
    unless they are ``.error``, and for ``compute.instance.exists``/``instance.exists``: those
    are usage-audit records (sent periodically and around rebuild/resize), not state changes,
    so forwarding them would report an action that did not happen.
    """
    if event_type == EXCEPTION_EVENT_TYPE:
        return Format.VERSIONED, Kind.ERROR, Phase.ERROR
    for prefix, fmt in _PREFIXES:
        if event_type.startswith(prefix):
            return _classify_action(fmt, event_type[len(prefix) :])
    return None


def _classify_action(fmt: Format, rest: str) -> tuple[Format, Kind, Phase] | None:
    action, _, suffix = rest.rpartition(".")
    phase = _PHASES.get(suffix)
    if phase is None:
        action, phase = rest, Phase.NONE
    kind = _ACTIONS[fmt].get(action)
    if kind is None:
        return (fmt, Kind.ERROR, phase) if phase is Phase.ERROR else None
    if (action in _PHASELESS) != (phase is Phase.NONE):
        return None
    return fmt, kind, phase


# --------------------------------------------------------------------------- payload helpers


def _is_secret_key(key: object) -> bool:
    return _is_secret_name(key) if isinstance(key, str) else _is_secret_name(str(key))


@functools.lru_cache(maxsize=4096)
def _is_secret_name(key: str) -> bool:
    # NOTE: cached: the same few hundred keys come in every notification.
    name = key.lower()
    if name.startswith("_context") or name == "service_catalog":
        return True
    return any(marker in name for marker in ("token", "password", "secret"))


def scrub(obj: Any) -> Any:
    """Return a deep copy of ``obj`` without credential-bearing keys, at any depth.

    Dropped: ``_context*``, ``service_catalog`` and keys containing ``token``, ``password``
    or ``secret`` (case-insensitive). Tuples become lists; scalars are returned as is.
    """
    if isinstance(obj, Mapping):
        # NOTE: scalars are copied without a call: most values of a payload are.
        return {
            key: value if type(value) in _SCALARS else scrub(value)
            for key, value in obj.items()
            if not _is_secret_key(key)
        }
    if isinstance(obj, (list, tuple)):
        return [item if type(item) in _SCALARS else scrub(item) for item in obj]
    return obj


_SCALARS = frozenset({str, int, float, bool, type(None)})


def unwrap(obj: Any) -> Any:
    """Replace every ``{"nova_object.data": X, ...}`` by ``X``, recursively (a new copy)."""
    if isinstance(obj, Mapping):
        if "nova_object.data" in obj:
            return unwrap(obj["nova_object.data"])
        return {key: unwrap(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [unwrap(item) for item in obj]
    return obj


def _legacy_created(value: str | None) -> str:
    """Versioned created_at -> legacy ``str(datetime)`` ("2026-11-25 11:22:37+00:00")."""
    if not value:
        return ""
    try:
        return str(parse_timestamp(value))
    except ValueError:
        return value


def _legacy_isotime(value: str | None) -> str:
    """Versioned time -> legacy isotime ("2026-11-25T11:22:39.000000"), "" when null."""
    if not value:
        return ""
    try:
        return parse_timestamp(value).strftime("%Y-%m-%dT%H:%M:%S.%f")
    except ValueError:
        return value


# --------------------------------------------------------------------------- versioned -> legacy

_COPIED_FIELDS = (
    "tenant_id",
    "user_id",
    "display_name",
    "reservation_id",
    "architecture",
    "host",
    "node",
    "availability_zone",
    "os_type",
    "kernel_id",
    "ramdisk_id",
    "state",
    "power_state",
    "image_uuid",
)
_ABSENT_IN_VERSIONED = (
    "instance_type_id",
    "cell_name",
    "access_ip_v4",
    "access_ip_v6",
    "image_meta",
)
_ISOTIME_FIELDS = ("launched_at", "terminated_at", "deleted_at")


def _flavor_fields(flavor: Mapping[str, Any] | None) -> dict[str, Any]:
    flavor = flavor or {}
    root, ephemeral = flavor.get("root_gb"), flavor.get("ephemeral_gb")
    disk_gb = root + ephemeral if isinstance(root, int) and isinstance(ephemeral, int) else None
    return {
        "instance_type": flavor.get("name"),
        "instance_flavor_id": flavor.get("flavorid"),
        "memory_mb": flavor.get("memory_mb"),
        "vcpus": flavor.get("vcpus"),
        "root_gb": root,
        "ephemeral_gb": ephemeral,
        "disk_gb": disk_gb,
    }


def _fixed_ip(ip: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "address": ip.get("address"),
        "version": ip.get("version"),
        "label": ip.get("label"),
        "vif_mac": ip.get("mac"),
        "meta": ip.get("meta") or {},
        "port_uuid": ip.get("port_uuid"),
    }


def _update_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The extras legacy ``compute.instance.update`` carries, from InstanceUpdatePayload."""
    if "state_update" not in data:
        return {}
    state = data.get("state_update") or {}
    period = data.get("audit_period") or {}
    return {
        "old_state": state.get("old_state"),
        "old_task_state": state.get("old_task_state"),
        "new_task_state": state.get("new_task_state"),
        "old_display_name": data.get("old_display_name"),
        "audit_period_beginning": _legacy_isotime(period.get("audit_period_beginning")),
        "audit_period_ending": _legacy_isotime(period.get("audit_period_ending")),
    }


def _fault_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    fault = data.get("fault")
    if not isinstance(fault, Mapping):
        return {}
    return {"exception": fault.get("exception"), "message": fault.get("exception_message")}


def legacy_payload(versioned: Mapping[str, Any]) -> dict[str, Any]:
    """Map a versioned payload (wrapped or already unwrapped) to legacy field names.

    See the module docstring for the field-by-field choices. A payload without ``uuid``
    (not about an instance) is returned unwrapped and otherwise untouched.
    """
    data = unwrap(versioned)
    if "uuid" not in data:
        return data
    payload: dict[str, Any] = {name: data.get(name) for name in _COPIED_FIELDS}
    payload.update(dict.fromkeys(_ABSENT_IN_VERSIONED))
    payload.update(_flavor_fields(data.get("flavor")))
    payload.update({name: _legacy_isotime(data.get(name)) for name in _ISOTIME_FIELDS})
    payload.update(
        instance_id=data["uuid"],
        hostname=data.get("host_name"),
        state_description=data.get("task_state") or "",
        progress=data.get("progress") or "",
        created_at=_legacy_created(data.get("created_at")),
        image_ref_url=data.get("image_uuid"),
        metadata=data.get("metadata") or {},
        fixed_ips=[_fixed_ip(ip) for ip in data.get("ip_addresses") or []],
    )
    payload.update(_update_fields(data))
    payload.update(_fault_fields(data))
    return payload


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class NovaEvent:
    """One Nova instance notification, normalised. ``payload`` is legacy-shaped and scrubbed.

    ``timestamp`` is Nova's string as received; ``emitted_at`` is the same instant, parsed
    (aware, UTC). Treat ``payload`` as read-only.
    """

    message_id: str
    timestamp: str
    emitted_at: datetime
    event_type: str
    format: Format
    kind: Kind
    phase: Phase
    priority: str
    publisher_id: str
    instance_id: str | None
    tenant_id: str | None
    state: str | None
    state_description: str | None
    payload: dict[str, Any]
    #: The id of the request the notification came from (see :func:`request_id_of`).
    request_id: str = ""
    #: ``user`` when a user's request caused it, ``system`` when Nova acted on its own
    #: (its request context names no user), "" when unknown (see :func:`initiator_of`).
    initiator: str = ""


def _exception_kind(payload: Mapping[str, Any]) -> Kind:
    return _FUNCTION_KINDS.get(str(payload.get("function_name")), Kind.ERROR)


def _shape_payload(fmt: Format, raw: Any) -> dict[str, Any]:
    clean = scrub(raw) if isinstance(raw, Mapping) else {}
    if fmt is Format.VERSIONED or "nova_object.data" in clean:
        return legacy_payload(clean)
    return clean


def parse(
    priority: str,
    publisher_id: str,
    event_type: str,
    payload: Any,
    metadata: Mapping[str, Any],
    request_id: str = "",
    initiator: str = "",
) -> NovaEvent | None:
    """Build a :class:`NovaEvent` from an oslo.messaging notification (endpoint args minus ctxt).

    Returns None when :func:`classify` rejects ``event_type``. Raises ValueError when
    ``metadata`` lacks ``message_id`` or carries an unparsable ``timestamp``.
    """
    classified = classify(event_type)
    if classified is None:
        return None
    fmt, kind, phase = classified
    shaped = _shape_payload(fmt, payload)
    if event_type == EXCEPTION_EVENT_TYPE:
        kind = _exception_kind(shaped)
    message_id, timestamp = _envelope_ids(metadata)
    return NovaEvent(
        message_id=message_id,
        timestamp=timestamp,
        emitted_at=parse_timestamp(timestamp),
        event_type=event_type,
        format=fmt,
        kind=kind,
        phase=phase,
        priority=str(priority).upper(),
        publisher_id=publisher_id,
        instance_id=shaped.get("instance_id"),
        tenant_id=shaped.get("tenant_id"),
        state=shaped.get("state"),
        state_description=shaped.get("state_description"),
        payload=shaped,
        request_id=request_id or message_id,
        initiator=initiator,
    )


def initiator_of(ctxt: Any) -> str:
    """``user`` when the notification's request context names a user, ``system`` when it
    names none (Nova's own periodic work, e.g. its power-state sync), "" without a context.

    Only the user fields of the context are read (it also holds the caller's token).
    """
    if ctxt is None:
        return ""
    for key in ("user_id", "user", "user_name"):
        if _context_value(ctxt, key):
            return "user"
    return "system"


def request_id_of(ctxt: Any, metadata: Mapping[str, Any]) -> str:
    """The request a notification came from: Nova's global request id (the caller's
    ``X-OpenStack-Request-ID``: ours when this service made the call), else Nova's own
    request id, else the notification's ``message_id``. ``req-`` is dropped.

    Only those two keys of the context are read (it also holds the caller's token).
    """
    for key in ("global_request_id", "request_id"):
        value = _context_value(ctxt, key)
        if isinstance(value, str) and value:
            return value.removeprefix("req-")
    return str(metadata.get("message_id") or "")


def _context_value(ctxt: Any, key: str) -> Any:
    # NOTE: oslo.messaging hands the context over as a dict or as an object whose
    # attributes are its keys (RpcContext).
    if isinstance(ctxt, Mapping):
        return ctxt.get(key)
    return getattr(ctxt, key, None)


def _envelope_ids(metadata: Mapping[str, Any]) -> tuple[str, str]:
    message_id, timestamp = metadata.get("message_id"), metadata.get("timestamp")
    if not message_id or not timestamp:
        raise ValueError("notification metadata needs message_id and timestamp")
    return str(message_id), str(timestamp)


# --------------------------------------------------------------------------- filtering


def wanted(
    event: NovaEvent,
    kinds: Iterable[Kind],
    phases: Iterable[Phase] = DEFAULT_PHASES,
) -> bool:
    """True when the event's kind and phase were both selected (default phases: END, ERROR)."""
    return event.kind in set(kinds) and event.phase in set(phases)


@dataclass(frozen=True)
class FormatPolicy:
    """Which Nova format feeds events, so one VM action yields one event.

    Events of the other format are dropped at the filter stage: the listener acks them
    without forwarding. That loses nothing, since Nova sends the same action in the kept
    format. Default: LEGACY, what Nova's default ``notification_format=unversioned`` sends
    (the same default as ``MULTICLOUD_EVENTS_PREFER_FORMAT``); build the policy with
    :meth:`for_nova_setting` from the VIM's setting.
    """

    prefer: Format = NOVA_SETTING_FORMATS[DEFAULT_PREFER_FORMAT]

    @classmethod
    def for_nova_setting(cls, notification_format: str) -> FormatPolicy:
        """Policy for Nova's ``[notifications] notification_format`` (both -> versioned)."""
        return cls(prefer=NOVA_SETTING_FORMATS[notification_format.strip().lower()])

    def accepts(self, source_format: Format) -> bool:
        """True for events of the preferred format."""
        return source_format is self.prefer


# --------------------------------------------------------------------------- outgoing message


def to_message(event: NovaEvent, cloud_owner: str, cloud_region_id: str) -> dict[str, Any]:
    """The bus message: legacy payload fields at top level plus an envelope.

    Envelope keys win over payload keys of the same name (the payload value is dropped), so
    consumers can rely on ``event_type``, ``message_id`` (the dedup key), ``timestamp``...
    """
    message = dict(event.payload)
    message.update(
        event_type=event.event_type,
        kind=event.kind.value,
        phase=event.phase.value,
        source_format=event.format.value,
        cloud_owner=cloud_owner,
        cloud_region_id=cloud_region_id,
        vim_id=f"{cloud_owner}_{cloud_region_id}",
        message_id=event.message_id,
        timestamp=format_timestamp(event.emitted_at),
        priority=event.priority,
        request_id=event.request_id or event.message_id,
    )
    return message
