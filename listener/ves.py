"""The VES sink: each event as a VES 7.x event, POSTed to DCAE's VES collector.

Framework-free. DCAE's analytics and Policy's closed loops read VES, not raw Nova payloads.
:func:`to_ves` maps one stored event message:

* ``commonEventHeader``: ``domain`` ``stateChange``, or ``fault`` for an event the listener
  marked as an alarm (``"alarm": "raise"`` for ERROR and unexpected power-offs, ``"clear"``
  when that server is back in service); ``sourceId``/``sourceName`` the server (its id and
  display name), ``reportingEntityName`` this service, ``startEpochMicrosec`` and
  ``lastEpochMicrosec`` Nova's timestamp, ``eventId`` the event's ``message_id`` (so a
  collector can drop a re-sent one), ``vesEventListenerVersion`` 7.2.
* ``stateChangeFields`` (``inService``/``outOfService``/``maintenance`` from Nova's
  vm_state) or ``faultFields`` (``eventSourceType`` ``virtualMachine``, severity, the
  alarm condition), with the region, tenant, kind and Nova event type as additional fields.

One event is POSTed to ``{url}/eventListener/v7`` as ``{"event": ...}``; more than one to
``{url}/eventListener/v7/eventBatch`` as ``{"eventList": [...]}``. The collector answers
202; 400 (its ``requestError`` body) refuses a batch, which is split to find the bad event;
401/403 dead-letter; 404, 429 and 5xx are retried like Message Router's.
"""

from __future__ import annotations

import json
from typing import Any

from listener.sinks import HttpSink, Reply, Verdict
from multicloud.event_kinds import Kind, parse_timestamp

LISTENER_VERSION = "7.2"
HEADER_VERSION = "4.1"
FIELDS_VERSION = "4.0"
SINGLE_PATH = "/eventListener/v7"
BATCH_PATH = "/eventListener/v7/eventBatch"

#: Nova vm_state -> VES state of the VM.
_SERVICE_STATES = {
    "active": "inService",
    "building": "maintenance",
    "rescued": "maintenance",
    "resized": "maintenance",
}
#: The state a VM was in before an action of this kind (when the event does not say).
_STATE_BEFORE = {
    Kind.CREATE: "maintenance",
    Kind.POWER_ON: "outOfService",
    Kind.UNPAUSE: "outOfService",
    Kind.RESUME: "outOfService",
    Kind.UNSHELVE: "outOfService",
    Kind.RESTORE: "outOfService",
    Kind.REBOOT: "maintenance",
    Kind.REBUILD: "maintenance",
    Kind.RESIZE: "maintenance",
}
_FAULTS = {
    # alarm condition -> (specificProblem, severity when raised)
    "error": ("VM failure: Nova reports an error", "MAJOR"),
    "power-off": ("VM powered off unexpectedly (not on a user's request)", "CRITICAL"),
}


def service_state(vm_state: Any) -> str:
    """inService / maintenance / outOfService for a Nova vm_state."""
    return _SERVICE_STATES.get(str(vm_state or ""), "outOfService")


def epoch_micros(timestamp: str) -> int:
    moment = parse_timestamp(timestamp)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def to_ves(message: dict[str, Any], reporting_entity: str) -> dict[str, Any]:
    """The VES 7.x event (the value of ``event``) of one stored event message."""
    alarm = message.get("alarm") or ""
    condition = message.get("alarm_condition") or "error"
    micros = epoch_micros(str(message["timestamp"]))
    server = str(message.get("instance_id") or "")
    header = {
        "domain": "fault" if alarm else "stateChange",
        "eventId": str(message["message_id"]),
        "eventName": _event_name(message, alarm),
        "eventType": "virtualMachine",
        "lastEpochMicrosec": micros,
        "priority": "High" if alarm == "raise" else "Normal",
        "reportingEntityName": reporting_entity,
        "sequence": 0,
        "sourceId": server,
        "sourceName": str(message.get("display_name") or server),
        "startEpochMicrosec": micros,
        "timeZoneOffset": "UTC+00:00",
        "version": HEADER_VERSION,
        "vesEventListenerVersion": LISTENER_VERSION,
    }
    extra = _additional(message)
    if alarm:
        problem, severity = _FAULTS.get(condition, _FAULTS["error"])
        return {
            "commonEventHeader": header,
            "faultFields": {
                "faultFieldsVersion": FIELDS_VERSION,
                "alarmCondition": f"vm-{condition}",
                "eventSeverity": severity if alarm == "raise" else "NORMAL",
                "eventSourceType": "virtualMachine",
                "specificProblem": problem,
                "vfStatus": "Active",
                "alarmAdditionalInformation": extra,
            },
        }
    new = service_state(message.get("state"))
    old = message.get("old_state")
    kind = _kind(message)
    before = service_state(old) if old else _STATE_BEFORE.get(kind, "inService")  # type: ignore[arg-type]
    return {
        "commonEventHeader": header,
        "stateChangeFields": {
            "stateChangeFieldsVersion": FIELDS_VERSION,
            "newState": new,
            "oldState": before,
            "stateInterface": "virtualMachine",
            "additionalFields": {**extra, "eventSourceType": "virtualMachine"},
        },
    }


def _kind(message: dict[str, Any]) -> Kind | None:
    try:
        return Kind(str(message.get("kind")))
    except ValueError:
        return None


def _event_name(message: dict[str, Any], alarm: str) -> str:
    if alarm == "raise":
        return "Fault_MultiCloud_VMFailure"
    if alarm == "clear":
        return "Fault_MultiCloud_VMFailureCleared"
    return f"StateChange_MultiCloud_{message.get('kind') or 'UPDATE'}"


def _additional(message: dict[str, Any]) -> dict[str, str]:
    """VES hashMaps hold strings only."""
    keys = (
        "vim_id",
        "cloud_owner",
        "cloud_region_id",
        "tenant_id",
        "kind",
        "phase",
        "event_type",
        "state",
        "state_description",
        "host",
        "source",
        "timestamp",
    )
    return {key: str(message[key]) for key in keys if message.get(key) not in (None, "")}


class VesCollector(HttpSink):
    """POSTs VES events to the collector (one, or a batch)."""

    name = "ves"
    upstream = "ves_collector"

    def __init__(self, *args: Any, reporting_entity: str = "multicloud", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.reporting_entity = reporting_entity

    def publish(self, topic: str, messages: list[dict[str, Any] | str]) -> Reply:
        decoded = [json.loads(m) if isinstance(m, str) else m for m in messages]
        events = [to_ves(m, self.reporting_entity) for m in decoded]
        document: dict[str, Any]
        if len(events) == 1:
            path, document = SINGLE_PATH, {"event": events[0]}
        else:
            path, document = BATCH_PATH, {"eventList": events}
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        answer = self.post(path, body, decoded)
        if isinstance(answer, Reply):
            return answer
        return classify(answer.status_code, answer.text, len(messages))

    def probe_path(self) -> str:
        return SINGLE_PATH


def classify(status: int, text: str, sent: int) -> Reply:
    """Turn the collector's answer into what to do with the batch."""
    if 200 <= status < 300:
        return Reply(Verdict.OK, status, "ok", sent)
    detail = f"HTTP {status}{_request_error(text)}"
    if status in (404, 429) or status >= 500:
        return Reply(Verdict.RETRY, status, detail)
    if status == 413 or (status == 400 and sent > 1):
        return Reply(Verdict.SPLIT, status, detail)
    return Reply(Verdict.DEAD, status, detail)


def _request_error(text: str) -> str:
    """ " <messageId>: <text>" from the collector's ``requestError`` body, if any."""
    try:
        body = json.loads(text)
        error = body["requestError"]
        (kind, fields), *_ = error.items()
        return f" {kind} {fields.get('messageId')}: {str(fields.get('text', ''))[:300]}"
    except (ValueError, KeyError, TypeError, AttributeError):
        return ""
