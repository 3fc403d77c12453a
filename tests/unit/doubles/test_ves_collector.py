"""The VES collector double answers as the collector does and validates VES 7.x events."""

from __future__ import annotations

import json

import pytest
import requests

from tests.doubles.ves_collector import BATCH, SINGLE, FakeVesCollector

EVENT = {
    "commonEventHeader": {
        "domain": "stateChange",
        "eventId": "e-1",
        "eventName": "StateChange_MultiCloud_PAUSE",
        "lastEpochMicrosec": 1,
        "priority": "Normal",
        "reportingEntityName": "multicloud",
        "sequence": 0,
        "sourceName": "vm1",
        "startEpochMicrosec": 1,
        "version": "4.1",
        "vesEventListenerVersion": "7.2",
    },
    "stateChangeFields": {
        "newState": "outOfService",
        "oldState": "inService",
        "stateChangeFieldsVersion": "4.0",
        "stateInterface": "virtualMachine",
    },
}


@pytest.fixture
def ves():
    with FakeVesCollector(basic_auth=("u", "p")) as collector:
        yield collector


def post(ves, path, body, auth=("u", "p")):
    return requests.post(f"{ves.url}{path}", data=json.dumps(body), auth=auth, timeout=5)


def test_a_valid_event_and_a_valid_batch_are_accepted_with_202(ves):
    assert post(ves, SINGLE, {"event": EVENT}).status_code == 202
    assert post(ves, BATCH, {"eventList": [EVENT, EVENT]}).status_code == 202
    assert len(ves.events()) == 3


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        (SINGLE, {"event": {**EVENT, "stateChangeFields": {}}}, "newState"),
        (
            SINGLE,
            {"event": {"commonEventHeader": {**EVENT["commonEventHeader"], "domain": "x"}}},
            "domain",
        ),
        (SINGLE, {"eventList": [EVENT]}, "single event endpoint"),
        (BATCH, {"event": EVENT}, "eventList"),
    ],
)
def test_an_invalid_body_is_400_with_the_collector_s_error(ves, path, body, fragment):
    answer = post(ves, path, body)
    assert answer.status_code == 400
    error = answer.json()["requestError"]["ServiceException"]
    assert error["messageId"] == "SVC0002" and error["text"]
    assert fragment in " ".join(error["variables"])
    assert ves.events() == []


def test_wrong_credentials_are_401_and_a_busy_collector_503(ves):
    refused = post(ves, SINGLE, {"event": EVENT}, auth=("u", "wrong"))
    assert refused.status_code == 401
    assert "PolicyException" in refused.json()["requestError"]
    ves.fail_next(1, 503)
    assert post(ves, SINGLE, {"event": EVENT}).status_code == 503
    assert post(ves, SINGLE, {"event": EVENT}).status_code == 202
