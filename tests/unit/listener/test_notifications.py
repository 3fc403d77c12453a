"""Unit tests for listener.notifications, driven by a real Nova 34 capture (format=both)."""

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from listener.notifications import (
    DEFAULT_PHASES,
    Format,
    FormatPolicy,
    Kind,
    NovaEvent,
    Phase,
    classify,
    legacy_payload,
    parse,
    parse_timestamp,
    scrub,
    to_message,
    wanted,
)

# The fields Nova's info_from_instance() always writes; both formats carry them.
LEGACY_CORE_FIELDS: tuple[str, ...] = (
    "tenant_id",
    "user_id",
    "instance_id",
    "display_name",
    "reservation_id",
    "hostname",
    "instance_type",
    "instance_type_id",
    "instance_flavor_id",
    "architecture",
    "memory_mb",
    "disk_gb",
    "vcpus",
    "root_gb",
    "ephemeral_gb",
    "host",
    "node",
    "availability_zone",
    "cell_name",
    "created_at",
    "terminated_at",
    "deleted_at",
    "launched_at",
    "image_ref_url",
    "os_type",
    "kernel_id",
    "ramdisk_id",
    "image_meta",
    "state",
    "state_description",
    "progress",
    "access_ip_v4",
    "access_ip_v6",
    "metadata",
)


CAPTURE = Path(__file__).resolve().parents[2] / "data" / "nova-notifications-captured.jsonl"
SERVER_ID = "6266734e-93ed-4be3-af89-7ef72981ebbf"


def _load_capture() -> list[dict]:
    with CAPTURE.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


CAPTURED = _load_capture()


def _parse(record: dict) -> NovaEvent | None:
    return parse(
        record["priority"],
        record["publisher_id"],
        record["event_type"],
        record["payload"],
        record["metadata"],
    )


def _captured(event_type: str) -> dict:
    return next(r for r in CAPTURED if r["event_type"] == event_type)


def _is_instance_event(event_type: str) -> bool:
    return event_type.startswith(("compute.instance.", "instance."))


def _event(**overrides) -> NovaEvent:
    record = _captured("instance.power_off.end")
    event = _parse(record)
    assert event is not None
    return dataclasses.replace(event, **overrides)


# --------------------------------------------------------------------------- capture


def test_capture_copy_holds_no_live_token():
    text = CAPTURE.read_text(encoding="utf-8")
    assert "gAAAA" not in text  # Fernet token prefix
    assert '"auth_token": "<redacted>"' in text


def test_capture_contains_both_formats():
    events = [_parse(r) for r in CAPTURED if _is_instance_event(r["event_type"])]
    assert {e.format for e in events} == {Format.LEGACY, Format.VERSIONED}


@pytest.mark.parametrize(
    "record",
    [r for r in CAPTURED if _is_instance_event(r["event_type"])],
    ids=lambda r: f"{r['event_type']}-{r['metadata']['message_id'][:8]}",
)
def test_every_captured_instance_notification_parses(record):
    event = _parse(record)
    assert event is not None
    assert event.instance_id == SERVER_ID
    assert event.tenant_id == "41a86d53ab0c49828c9a2cfed3137317"
    assert event.message_id == record["metadata"]["message_id"]
    assert event.timestamp == record["metadata"]["timestamp"]
    assert event.emitted_at.tzinfo is not None


@pytest.mark.parametrize(
    "record",
    [r for r in CAPTURED if r["event_type"].startswith("scheduler.")],
    ids=lambda r: r["publisher_id"],
)
def test_scheduler_notifications_are_not_instance_events(record):
    assert _parse(record) is None


def test_captured_scheduler_context_never_survives_scrubbing():
    record = CAPTURED[0]
    assert "_context" in json.dumps(record["payload"])
    cleaned = json.dumps(scrub(record["payload"]))
    assert "_context" not in cleaned and "token" not in cleaned
    assert "service_catalog" not in cleaned


# --------------------------------------------------------------------------- versioned -> legacy


def _power_off_pair() -> tuple[NovaEvent, NovaEvent]:
    legacy = _parse(_captured("compute.instance.power_off.end"))
    versioned = _parse(_captured("instance.power_off.end"))
    assert legacy is not None and versioned is not None
    return legacy, versioned


def test_versioned_power_off_maps_to_the_legacy_shape():
    legacy, versioned = _power_off_pair()
    for field in ("instance_id", "state", "tenant_id", "display_name"):
        assert versioned.payload[field] == legacy.payload[field]
    assert versioned.payload["state"] == "stopped"
    assert versioned.state == legacy.state == "stopped"
    core = set(LEGACY_CORE_FIELDS)
    assert core <= set(legacy.payload)
    assert core & set(versioned.payload) == core & set(legacy.payload)


def test_versioned_payload_values_match_legacy_except_documented_gaps():
    legacy, versioned = _power_off_pair()
    gaps = {"instance_type_id", "cell_name", "image_meta", "image_ref_url"}
    for field in set(LEGACY_CORE_FIELDS) - gaps:
        assert versioned.payload[field] == legacy.payload[field], field


def test_versioned_only_fields_are_renamed_or_nulled():
    _, versioned = _power_off_pair()
    payload = versioned.payload
    assert payload["hostname"] == "smoke-vm"
    assert payload["instance_type"] == "m1.tiny"
    assert payload["disk_gb"] == 1
    assert payload["image_uuid"] == payload["image_ref_url"]
    assert payload["power_state"] == "shutdown"
    assert payload["state_description"] == "" and payload["progress"] == ""
    assert payload["launched_at"] == "2026-11-25T11:22:39.000000"
    assert payload["created_at"] == "2026-11-25 11:22:37+00:00"
    assert payload["deleted_at"] == "" and payload["terminated_at"] == ""
    for field in ("instance_type_id", "cell_name", "access_ip_v4", "access_ip_v6", "image_meta"):
        assert payload[field] is None
    assert not any(key.startswith("nova_object") for key in payload)
    assert "uuid" not in payload and "flavor" not in payload


def test_versioned_update_carries_the_legacy_state_transition_fields():
    legacy = _parse(_captured("compute.instance.update"))
    versioned = _parse(_captured("instance.update"))
    for field in ("old_state", "old_task_state", "new_task_state"):
        assert versioned.payload[field] == legacy.payload[field]
    assert versioned.payload["audit_period_beginning"] == legacy.payload["audit_period_beginning"]
    assert versioned.state_description == legacy.state_description == "scheduling"


def test_ip_addresses_become_fixed_ips_and_nested_objects_unwrap():
    data = {
        "uuid": "u1",
        "flavor": {"nova_object.data": {"root_gb": 2, "ephemeral_gb": 3}},
        "ip_addresses": [
            {
                "nova_object.name": "IpPayload",
                "nova_object.data": {
                    "address": "192.168.1.3",
                    "mac": "fa:16:3e:4c:2c:30",
                    "version": 4,
                    "label": "private",
                    "port_uuid": "p1",
                    "meta": {},
                    "device_name": "tap1",
                },
            }
        ],
        "progress": 40,
        "task_state": "resize_prep",
    }
    wrapped = {"nova_object.name": "InstanceActionPayload", "nova_object.data": data}
    payload = legacy_payload(wrapped)
    assert payload["fixed_ips"] == [
        {
            "address": "192.168.1.3",
            "version": 4,
            "label": "private",
            "vif_mac": "fa:16:3e:4c:2c:30",
            "meta": {},
            "port_uuid": "p1",
        }
    ]
    assert payload["disk_gb"] == 5
    assert payload["progress"] == 40
    assert payload["state_description"] == "resize_prep"


def test_versioned_fault_becomes_legacy_exception_and_message():
    fault = {
        "nova_object.data": {
            "exception": "FlavorDiskTooSmall",
            "exception_message": "too small",
            "traceback": "...",
        }
    }
    payload = legacy_payload({"nova_object.data": {"uuid": "u1", "fault": fault}})
    assert payload["exception"] == "FlavorDiskTooSmall"
    assert payload["message"] == "too small"
    assert "traceback" not in json.dumps(payload)


def test_legacy_payload_is_kept_as_sent():
    record = _captured("compute.instance.create.end")
    event = _parse(record)
    assert event.payload == record["payload"]
    assert event.payload is not record["payload"]


# --------------------------------------------------------------------------- classification

KIND_EVENT_TYPES = [
    # (kind, legacy event type, versioned event type, phase)
    (Kind.CREATE, "compute.instance.create.end", "instance.create.end", Phase.END),
    (Kind.DELETE, "compute.instance.delete.end", "instance.delete.end", Phase.END),
    (Kind.SOFT_DELETE, "compute.instance.soft_delete.end", "instance.soft_delete.end", Phase.END),
    (Kind.SHUT_DOWN, "compute.instance.shutdown.start", "instance.shutdown.start", Phase.START),
    (Kind.POWER_OFF, "compute.instance.power_off.end", "instance.power_off.end", Phase.END),
    (Kind.POWER_ON, "compute.instance.power_on.end", "instance.power_on.end", Phase.END),
    (Kind.PAUSE, "compute.instance.pause.end", "instance.pause.end", Phase.END),
    (Kind.UNPAUSE, "compute.instance.unpause.end", "instance.unpause.end", Phase.END),
    (Kind.SUSPEND, "compute.instance.suspend.end", "instance.suspend.end", Phase.END),
    (Kind.RESUME, "compute.instance.resume.end", "instance.resume.end", Phase.END),
    (Kind.REBOOT, "compute.instance.reboot.error", "instance.reboot.error", Phase.ERROR),
    (Kind.REBUILD, "compute.instance.rebuild.end", "instance.rebuild.end", Phase.END),
    (Kind.SHELVE, "compute.instance.shelve.end", "instance.shelve.end", Phase.END),
    (Kind.SHELVE, "compute.instance.shelve_offload.end", "instance.shelve_offload.end", Phase.END),
    (Kind.UNSHELVE, "compute.instance.unshelve.end", "instance.unshelve.end", Phase.END),
    (Kind.RESIZE, "compute.instance.resize.prep.start", "instance.resize_prep.start", Phase.START),
    (Kind.RESIZE, "compute.instance.resize.end", "instance.resize.end", Phase.END),
    (Kind.RESIZE, "compute.instance.resize.error", "instance.resize.error", Phase.ERROR),
    (Kind.RESIZE, "compute.instance.finish_resize.end", "instance.resize_finish.end", Phase.END),
    (Kind.RESIZE, "compute.instance.resize.confirm.end", "instance.resize_confirm.end", Phase.END),
    (
        Kind.RESIZE,
        "compute.instance.resize.revert.start",
        "instance.resize_revert.start",
        Phase.START,
    ),
    (Kind.RESTORE, "compute.instance.restore.end", "instance.restore.end", Phase.END),
    (Kind.UPDATE, "compute.instance.update", "instance.update", Phase.NONE),
]


@pytest.mark.parametrize(
    "kind,legacy,versioned,phase", KIND_EVENT_TYPES, ids=[row[1] for row in KIND_EVENT_TYPES]
)
def test_every_table_kind_maps_from_both_formats(kind, legacy, versioned, phase):
    assert classify(legacy) == (Format.LEGACY, kind, phase)
    assert classify(versioned) == (Format.VERSIONED, kind, phase)


def test_kinds_table_covers_every_kind_except_error():
    assert {row[0] for row in KIND_EVENT_TYPES} == set(Kind) - {Kind.ERROR}


@pytest.mark.parametrize(
    "event_type,expected",
    [
        ("compute.instance.create.error", (Format.LEGACY, Kind.CREATE, Phase.ERROR)),
        ("instance.create.error", (Format.VERSIONED, Kind.CREATE, Phase.ERROR)),
        ("instance.rebuild.error", (Format.VERSIONED, Kind.REBUILD, Phase.ERROR)),
        ("instance.interface_attach.error", (Format.VERSIONED, Kind.ERROR, Phase.ERROR)),
        ("compute.exception", (Format.VERSIONED, Kind.ERROR, Phase.ERROR)),
        ("instance.rebuild_scheduled", (Format.VERSIONED, Kind.REBUILD, Phase.NONE)),
    ],
)
def test_errors_and_phaseless_events_classify(event_type, expected):
    assert classify(event_type) == expected


@pytest.mark.parametrize(
    "event_type",
    [
        "compute.instance.exists",  # usage audit record, not a state change
        "instance.exists",
        "scheduler.select_destinations.end",
        "aggregate.create.end",
        "compute.instance.snapshot.end",  # instance action outside the kinds table
        "instance.update.end",  # update never has a phase
        "instance.power_off",  # and actions always have one
        "compute.instance.resize_prep.start",  # versioned spelling under the legacy prefix
        "instance.resize.prep.start",  # legacy spelling under the versioned prefix
        "",
    ],
)
def test_unsupported_event_types_are_not_classified(event_type):
    assert classify(event_type) is None


def test_compute_exception_kind_comes_from_the_failing_function():
    payload = {
        "nova_object.name": "ExceptionPayload",
        "nova_object.data": {
            "exception": "InstanceNotRunning",
            "exception_message": "not running",
            "function_name": "stop_instance",
            "module_name": "nova.compute.manager",
        },
    }
    metadata = {"message_id": "m1", "timestamp": "2026-11-25 11:22:38.172502"}
    event = parse("ERROR", "nova-compute:osbox", "compute.exception", payload, metadata)
    assert (event.kind, event.phase, event.instance_id) == (Kind.POWER_OFF, Phase.ERROR, None)
    assert event.payload["exception"] == "InstanceNotRunning"


def test_compute_exception_of_unknown_function_is_kind_error():
    payload = {"nova_object.data": {"function_name": "aggregate_create"}}
    metadata = {"message_id": "m1", "timestamp": "2026-11-25T11:22:38Z"}
    event = parse("error", "nova-api:osbox", "compute.exception", payload, metadata)
    assert event.kind is Kind.ERROR and event.priority == "ERROR"


def test_missing_message_id_is_rejected():
    with pytest.raises(ValueError):
        parse("info", "compute.h", "compute.instance.update", {}, {"timestamp": "2026-11-25"})


# --------------------------------------------------------------------------- filtering


def _captured_events() -> list[NovaEvent]:
    return [e for e in map(_parse, CAPTURED) if e is not None]


def test_start_events_are_filtered_out_by_default():
    event = _parse(_captured("instance.power_off.start"))
    assert event.phase is Phase.START
    assert not wanted(event, {Kind.POWER_OFF})
    assert wanted(event, {Kind.POWER_OFF}, {Phase.START})
    assert {Phase.END, Phase.ERROR} == DEFAULT_PHASES


def test_unselected_kinds_are_filtered_out():
    event = _parse(_captured("instance.power_off.end"))
    assert wanted(event, {Kind.POWER_OFF})
    assert not wanted(event, {Kind.PAUSE, Kind.DELETE})


def test_versioned_policy_yields_one_event_per_captured_action():
    policy = FormatPolicy(prefer=Format.VERSIONED)
    kept = [e for e in _captured_events() if policy.accepts(e.format) and wanted(e, set(Kind))]
    assert [e.kind for e in kept] == [
        Kind.CREATE,
        Kind.PAUSE,
        Kind.UNPAUSE,
        Kind.POWER_OFF,
        Kind.POWER_ON,
        Kind.SHUT_DOWN,
        Kind.DELETE,
    ]
    assert {e.format for e in kept} == {Format.VERSIONED}
    assert len({e.message_id for e in kept}) == len(kept)


def test_legacy_policy_keeps_the_same_actions_from_legacy_events():
    def actions(prefer: Format) -> list[Kind]:
        policy = FormatPolicy(prefer=prefer)
        return [
            e.kind for e in _captured_events() if policy.accepts(e.format) and wanted(e, set(Kind))
        ]

    assert actions(Format.LEGACY) == actions(Format.VERSIONED)


def test_format_policy_follows_the_nova_setting():
    assert (
        FormatPolicy().prefer is Format.LEGACY
    )  # Nova's default, and MULTICLOUD_EVENTS_PREFER_FORMAT's
    assert FormatPolicy.for_nova_setting("both").prefer is Format.VERSIONED
    assert FormatPolicy.for_nova_setting("versioned").prefer is Format.VERSIONED
    assert FormatPolicy.for_nova_setting(" Unversioned ").prefer is Format.LEGACY
    with pytest.raises(KeyError):
        FormatPolicy.for_nova_setting("sometimes")


# --------------------------------------------------------------------------- scrubbing


SECRET_PAYLOAD = {
    "instance_id": "u1",
    "auth_token": "t0",
    "_context_auth_token": "t1",
    "_context_user_name": "admin",
    "nested": {
        "service_catalog": [{"endpoints": []}],
        "items": [{"X-Subject-Token": "t2", "keep": 1}, ({"service_token": "t3"},)],
        "_context": {"auth_token": "t4"},
        "admin_password": "p",
        "deeper": {"refresh_token": "t5", "value": "ok"},
    },
}


def test_scrub_removes_tokens_and_context_at_any_depth():
    cleaned = scrub(SECRET_PAYLOAD)
    assert cleaned == {
        "instance_id": "u1",
        "nested": {"items": [{"keep": 1}, [{}]], "deeper": {"value": "ok"}},
    }
    assert "auth_token" in SECRET_PAYLOAD  # the input is not modified


def test_parse_scrubs_both_formats():
    metadata = {"message_id": "m1", "timestamp": "2026-11-25 11:22:38.172502"}
    legacy = parse("info", "compute.h", "compute.instance.delete.end", SECRET_PAYLOAD, metadata)
    versioned_payload = {"nova_object.data": {"uuid": "u1", "metadata": SECRET_PAYLOAD}}
    versioned = parse("info", "nova-compute:h", "instance.delete.end", versioned_payload, metadata)
    for event in (legacy, versioned):
        text = json.dumps(event.payload).lower()
        assert "token" not in text and "_context" not in text and "catalog" not in text
        assert "t1" not in text and "t4" not in text


# --------------------------------------------------------------------------- messages


def test_to_message_wraps_the_legacy_payload_in_an_envelope():
    event = _parse(_captured("instance.power_off.end"))
    message = to_message(event, "CloudOwner", "RegionOne")
    assert message["event_type"] == "instance.power_off.end"
    assert message["kind"] == "POWER_OFF" and message["phase"] == "END"
    assert message["source_format"] == "VERSIONED"
    assert message["cloud_owner"] == "CloudOwner"
    assert message["cloud_region_id"] == "RegionOne"
    assert message["vim_id"] == "CloudOwner_RegionOne"
    assert message["message_id"] == "725eb501-0ef2-4122-947c-768a111416be"
    assert message["timestamp"] == "2026-11-25T11:22:40.431302Z"
    assert message["priority"] == "INFO"
    assert message["instance_id"] == SERVER_ID and message["state"] == "stopped"
    assert json.loads(json.dumps(message)) == message


def test_envelope_wins_when_a_payload_key_collides():
    payload = {**_event().payload, "event_type": "spoofed", "message_id": "x", "vim_id": "y"}
    message = to_message(_event(payload=payload), "Owner", "R1")
    assert message["event_type"] == "instance.power_off.end"
    assert message["message_id"] == "725eb501-0ef2-4122-947c-768a111416be"
    assert message["vim_id"] == "Owner_R1"


# --------------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2026-11-25 11:22:38.172502", datetime(2026, 11, 25, 11, 22, 38, 172502, tzinfo=UTC)),
        ("2026-11-25T11:22:37Z", datetime(2026, 11, 25, 11, 22, 37, tzinfo=UTC)),
        ("2026-11-25T11:22:37+00:00", datetime(2026, 11, 25, 11, 22, 37, tzinfo=UTC)),
        ("2026-11-25 11:22:37+00:00", datetime(2026, 11, 25, 11, 22, 37, tzinfo=UTC)),
        ("2026-11-25T12:22:37.5+01:00", datetime(2026, 11, 25, 11, 22, 37, 500000, tzinfo=UTC)),
    ],
)
def test_nova_timestamps_parse_to_aware_utc(text, expected):
    parsed = parse_timestamp(text)
    assert parsed == expected and parsed.utcoffset().total_seconds() == 0


def test_unparsable_timestamp_is_rejected():
    with pytest.raises(ValueError):
        parse_timestamp("yesterday")
