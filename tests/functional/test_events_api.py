"""Event subscriptions, stored events and check_vim_status over HTTP, in both frameworks."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from unittest import mock

import pytest

from listener import outbox
from listener.notifications import parse
from multicloud.events.models import Subscription
from multicloud.status import service as status
from tests.nova_corpus import args, replay

pytestmark = pytest.mark.django_db

V0 = "/api/multicloud/v0/onap_R1"
V1 = "/api/multicloud/v1/onap/R1"
VIO = "/api/multicloud-vio/v0/onap_R1"
BODY = {
    "states": ["DELETE", "PAUSE", "POWER_OFF", "REBUILD", "SHUT_DOWN", "SOFT_DELETE"],
    "topic": "unauthenticated.MULTICLOUD_VM_EVENTS",
}


@pytest.fixture
def region(db, stored_region):
    """A registered region whose cloud cannot be reached (nothing here may call it)."""
    return stored_region()


def post(api, path, body):
    return api.request("POST", path, json.dumps(body).encode())


@pytest.mark.parametrize("base", [V0, V1, VIO])
def test_a_subscription_is_created_listed_and_deleted(api, region, base):
    created = post(api, f"{base}/event_subscriptions", BODY)
    assert created.status == 201
    assert created.json()["states"] == BODY["states"]
    assert post(api, f"{base}/event_subscriptions", {**BODY, "states": ["PAUSE"]}).status == 200
    listed = api.request("GET", f"{base}/event_subscriptions").json()
    assert listed["vimId"] == "onap_R1"
    assert [(s["topic"], s["states"]) for s in listed["subscriptions"]] == [
        (BODY["topic"], ["PAUSE"])
    ]
    gone = api.request("DELETE", f"{base}/event_subscriptions?topic={BODY['topic']}")
    assert gone.status == 204 and gone.body == b""
    assert not Subscription.objects.exists()


def test_delete_takes_the_topic_from_the_body_too(api, region):
    post(api, f"{V1}/event_subscriptions", BODY)
    post(api, f"{V1}/event_subscriptions", {**BODY, "topic": "other"})
    body = json.dumps({"topic": "other"}).encode()
    assert api.request("DELETE", f"{V1}/event_subscriptions", body).status == 204
    assert list(Subscription.objects.values_list("topic", flat=True)) == [BODY["topic"]]
    assert api.request("DELETE", f"{V1}/event_subscriptions").status == 204
    assert api.request("DELETE", f"{V1}/event_subscriptions").status == 404


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"states": ["PAUSE", "EXPLODE"], "topic": "t"}, "unknown event kind"),
        ({"states": [], "topic": "t"}, "non-empty list"),
        ({"topic": "t"}, "non-empty list"),
        ({"states": ["PAUSE"], "topic": ""}, "topic must be"),
        ({"states": ["PAUSE"], "topic": "no spaces"}, "topic must be"),
        ({"states": ["PAUSE"]}, "topic must be"),
        ({"states": ["PAUSE"], "topic": "."}, "must not be '.' or '..'"),
        ({"states": ["PAUSE"], "topic": ".."}, "must not be '.' or '..'"),
        ([], "body must be"),
    ],
)
def test_invalid_subscriptions_are_400_json(api, region, body, fragment):
    answer = post(api, f"{V0}/event_subscriptions", body)
    assert answer.status == 400
    assert answer.headers["content-type"].startswith("application/json")
    assert fragment in answer.json()["error"]
    assert not Subscription.objects.exists()


def test_malformed_json_is_400(api, region):
    answer = api.request("POST", f"{V0}/event_subscriptions", b"{nope")
    assert answer.status == 400


@pytest.mark.parametrize(
    "path",
    [
        "/api/multicloud/v0/onap_Nowhere/event_subscriptions",
        "/api/multicloud/v1/onap/Nowhere/events",
    ],
)
def test_an_unknown_region_is_404(api, region, path):
    method, body = ("POST", json.dumps(BODY).encode()) if "subscr" in path else ("GET", b"")
    answer = api.request(method, path, body)
    assert answer.status == 404
    assert "not registered" in answer.json()["error"]


def test_check_vim_status_of_an_unknown_region_is_404(api, region):
    answer = post(api, "/api/multicloud/v0/onap_Nowhere/check_vim_status", {"states": ["PAUSE"]})
    assert answer.status == 404


#: Fixed inputs, so the django and pecan runs store (and answer) the same events.
CORPUS_START = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)


def _store(count: int) -> list:
    events = []
    for index, item in enumerate(replay(200, start=CORPUS_START)):
        item["metadata"]["message_id"] = str(uuid.UUID(int=index + 1))
        event = parse(*args(item))
        if event and event.format.value == "LEGACY" and event.phase.value == "END":
            outbox.accept(event, "onap", "R1", ["t"])
            events.append(event)
        if len(events) == count:
            return events
    raise AssertionError("corpus too small")


def test_pollers_read_stored_events_in_order_and_page_with_since(api, region):
    events = _store(5)
    page = api.request("GET", f"{V1}/events?limit=2").json()
    assert [e["message_id"] for e in page["events"]] == [e.message_id for e in events[:2]]
    rest = api.request("GET", f"{V1}/events?since={page['next_since']}").json()
    assert len(page["events"]) == 2
    assert [e["message_id"] for e in rest["events"]] == [e.message_id for e in events[2:]]
    kind = events[0].kind.value
    only = api.request("GET", f"{V0}/events?states={kind.lower()}").json()["events"]
    assert only and {e["kind"] for e in only} == {kind}


def test_deleting_a_subscription_stops_the_retries_of_its_waiting_events(api, region):
    post(api, f"{V1}/event_subscriptions", {**BODY, "topic": "t"})
    events = _store(3)
    assert api.request("DELETE", f"{V1}/event_subscriptions?topic=t").status == 204
    assert outbox.pending_queues() == []
    polled = api.request("GET", f"{V1}/events").json()["events"]
    assert [e["message_id"] for e in polled] == [e.message_id for e in events]
    assert all(e["delivery"]["status"] == "dead" for e in polled)
    assert polled[0]["delivery"]["errors"] == {"t": "subscription deleted"}


@pytest.mark.parametrize("query", ["states=NOPE", "since=yesterday", "limit=0", "limit=x"])
def test_bad_poller_queries_are_400(api, region, query):
    assert api.request("GET", f"{V1}/events?{query}").status == 400


SERVERS = [
    {
        "id": "a",
        "name": "paused-vm",
        "tenant_id": "t1",
        "status": "PAUSED",
        "OS-EXT-STS:vm_state": "paused",
        "OS-EXT-STS:task_state": None,
        "OS-SRV-USG:launched_at": "2026-11-25T11:22:39.000000",
        "OS-EXT-STS:power_state": 3,
    },
    {
        "id": "b",
        "name": "stopped-vm",
        "tenant_id": "t2",
        "status": "SHUTOFF",
        "OS-EXT-STS:vm_state": "stopped",
        "OS-EXT-STS:task_state": "powering-on",
        "OS-SRV-USG:launched_at": "2026-11-25T11:20:00.000000",
        "OS-EXT-STS:power_state": 4,
    },
    {
        "id": "c",
        "name": "active-vm",
        "tenant_id": "t1",
        "status": "ACTIVE",
        "OS-EXT-STS:vm_state": "active",
        "OS-EXT-STS:task_state": None,
        "OS-SRV-USG:launched_at": "2026-11-25T11:00:00.000000",
        "OS-EXT-STS:power_state": 1,
    },
]


@pytest.fixture
def nova(region):
    fake = mock.Mock()
    fake.get.return_value.json.return_value = {"servers": SERVERS}
    with mock.patch.object(status, "adapter", autospec=True, return_value=fake) as factory:
        yield factory, fake


def test_check_vim_status_lists_the_vms_in_the_asked_states(api, nova):
    factory, fake = nova
    answer = post(api, f"{V0}/check_vim_status", {"states": ["PAUSE", "POWER_OFF"]})
    assert answer.status == 200
    servers = answer.json()["servers"]
    assert [s["id"] for s in servers] == ["a", "b"]
    assert servers[1] == {
        "id": "b",
        "name": "stopped-vm",
        "tenant_id": "t2",
        "state": "stopped",
        "state_description": "powering-on",
        "launched_at": "2026-11-25T11:20:00.000000",
        "status": "SHUTOFF",
        "power_state": 4,
        "host": None,
    }
    assert factory.call_args.args[1] == "compute"
    assert fake.get.call_args.kwargs["params"]["all_tenants"] == 1


def test_check_vim_status_accepts_nova_vm_states_too(api, nova):
    answer = post(api, f"{V1}/check_vim_status", {"states": ["active"]})
    assert [s["id"] for s in answer.json()["servers"]] == ["c"]


@pytest.mark.parametrize("body", [{}, {"states": []}, {"states": ["EXPLODED"]}, {"states": "x"}])
def test_check_vim_status_refuses_bad_states(api, nova, body):
    answer = post(api, f"{V0}/check_vim_status", body)
    assert answer.status == 400 and "error" in answer.json()


def test_no_secret_of_the_region_is_ever_returned(api, region):
    post(api, f"{V0}/event_subscriptions", BODY)
    for path in (f"{V0}/event_subscriptions", f"{V0}/events"):
        assert "s3cret" not in api.request("GET", path).body.decode()


def test_a_subscription_chooses_its_sink_and_a_bad_sink_is_400(api, region):
    answer = post(api, f"{V0}/event_subscriptions", {"states": ["ERROR"], "sink": "ves"})
    assert answer.status == 201, answer.body
    assert answer.json()["sink"] == "ves" and answer.json()["topic"] == "ves"
    mr = post(api, f"{V0}/event_subscriptions", {"states": ["PAUSE"], "topic": "ves"})
    assert mr.status == 201 and mr.json()["sink"] == "message-router"
    bad = post(api, f"{V0}/event_subscriptions", {"states": ["PAUSE"], "sink": "kafka"})
    assert bad.status == 400 and "sink must be one of" in bad.json()["error"]
    typo = post(api, f"{V0}/event_subscriptions", {"states": ["PAUSE"], "topic": "t", "sinks": 1})
    assert typo.status == 400 and "unknown field" in typo.json()["error"]
    assert sorted(Subscription.objects.values_list("sink", "topic")) == [
        ("message-router", "ves"),
        ("ves", "ves"),
    ]
    assert api.request("DELETE", f"{V0}/event_subscriptions?sink=ves").status == 204
    assert list(Subscription.objects.values_list("sink", flat=True)) == ["message-router"]


def test_the_swagger_document_describes_the_sink_field(api):
    answer = api.request("GET", "/api/multicloud/v0/swagger.json")
    post_doc = answer.json()["paths"]["/{vimid}/event_subscriptions"]["post"]
    body = next(p for p in post_doc["parameters"] if p["in"] == "body")
    assert body["schema"]["properties"]["sink"]["enum"] == ["message-router", "ves"]
