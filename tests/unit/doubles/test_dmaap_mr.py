"""Prove the DMaaP Message Router double speaks MR's wire protocol, over real HTTP.

Every test uses ``requests`` against the double on 127.0.0.1 and is bounded in time.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.doubles.dmaap_mr import FakeMessageRouter

TOPIC = "unauthenticated.MULTICLOUD_VM_EVENTS"
JSON = {"Content-Type": "application/json"}
pytestmark = pytest.mark.timeout(20)


@pytest.fixture
def mr() -> Iterator[FakeMessageRouter]:
    """A plain-HTTP double with a 3 s long-poll cap."""
    with FakeMessageRouter(max_poll_seconds=3.0) as router:
        yield router


def publish(
    mr: FakeMessageRouter, payload: Any, topic: str = TOPIC, **kwargs: Any
) -> requests.Response:
    """POST a JSON payload to /events/{topic}."""
    return requests.post(
        f"{mr.url}/events/{topic}", data=json.dumps(payload), headers=JSON, timeout=5, **kwargs
    )


def poll(
    mr: FakeMessageRouter,
    group: str = "cg",
    consumer: str = "c1",
    timeout_ms: int = 200,
    topic: str = TOPIC,
    **params: Any,
) -> requests.Response:
    """GET /events/{topic}/{group}/{consumer} with a small long-poll timeout."""
    query = {"timeout": timeout_ms, **params}
    return requests.get(f"{mr.url}/events/{topic}/{group}/{consumer}", params=query, timeout=10)


def assert_mr_error(resp: requests.Response, status: int, mrstatus: int) -> dict[str, Any]:
    """Check the HTTP status and MR's error body shape; return the body."""
    body = resp.json()
    assert resp.status_code == status
    assert body["status"] == status
    assert body["mrstatus"] == mrstatus
    assert set(body) == {"status", "mrstatus", "message", "helpURL"}
    return body


def prime(mr: FakeMessageRouter, group: str = "cg", consumer: str = "c1") -> None:
    """Create the topic and register the consumer group (new groups start at latest)."""
    mr.create_topic(TOPIC)
    assert poll(mr, group=group, consumer=consumer, timeout_ms=0).json() == []


def wait_until(predicate: Any, seconds: float = 3.0) -> bool:
    """Poll ``predicate`` until it is true or ``seconds`` elapse."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


# --------------------------------------------------------------------------- publish


def test_publish_single_object_counts_one_and_stores_it(mr: FakeMessageRouter) -> None:
    resp = publish(mr, {"event_type": "compute.instance.pause.end", "n": 1})

    assert resp.status_code == 200
    assert resp.json()["count"] == 1
    assert isinstance(resp.json()["serverTimeMs"], int)
    assert mr.messages(TOPIC) == [{"event_type": "compute.instance.pause.end", "n": 1}]


def test_publish_array_stores_each_element_reserialised(mr: FakeMessageRouter) -> None:
    resp = requests.post(
        f"{mr.url}/events/{TOPIC}",
        headers=JSON,
        timeout=5,
        data='[ {"a": 1,  "b": "é"}, {"a": 2} ]'.encode(),
    )

    assert resp.json()["count"] == 2
    assert mr.raw(TOPIC) == ['{"a":1,"b":"é"}', '{"a":2}']
    assert mr.publish_requests == 1


def test_publish_auto_creates_topic_listed_by_get_topics(mr: FakeMessageRouter) -> None:
    publish(mr, {"x": 1}, topic="TestTopic1")

    topics = requests.get(f"{mr.url}/topics", timeout=5).json()

    assert topics == {"topics": ["TestTopic1"]}


def test_topics_create_endpoint_creates_empty_topic(mr: FakeMessageRouter) -> None:
    resp = requests.post(f"{mr.url}/topics/create", json={"topicName": "made"}, timeout=5)

    assert resp.status_code == 200
    assert resp.json()["name"] == "made"
    assert "made" in mr.topics()
    assert poll(mr, topic="made").json() == []


def test_partition_key_comes_from_query_or_cambria_partition(mr: FakeMessageRouter) -> None:
    publish(mr, [{"a": 1}, {"a": 2, "cambria.partition": "vm-2"}], params={"partitionKey": "vm-1"})

    assert [r.key for r in mr.records(TOPIC)] == ["vm-1", "vm-2"]


def test_invalid_json_is_400_with_mrstatus_5005(mr: FakeMessageRouter) -> None:
    resp = requests.post(f"{mr.url}/events/{TOPIC}", data=b"{not json", headers=JSON, timeout=5)

    assert_mr_error(resp, 400, 5005)
    assert mr.raw(TOPIC) == []


def test_chunked_json_publish_is_rejected(mr: FakeMessageRouter) -> None:
    resp = requests.post(
        f"{mr.url}/events/{TOPIC}", data=iter([b'{"a": 1}']), headers=JSON, timeout=5
    )

    body = assert_mr_error(resp, 400, 5005)
    assert body["message"] == "The JSON stream reader doesn't support chunking"
    assert mr.received_headers["Transfer-Encoding"] == "chunked"


def test_cambria_lengths_are_bytes_so_non_ascii_round_trips(mr: FakeMessageRouter) -> None:
    key, msg = "4f398943", '{"name":"vm-é—1"}'
    entry = f"{len(key.encode())}.{len(msg.encode())}.{key}{msg}"
    body = f"{entry}\n  {entry}\n".encode()

    resp = requests.post(
        f"{mr.url}/events/{TOPIC}",
        data=body,
        timeout=5,
        headers={"Content-Type": "application/cambria"},
    )

    assert resp.json()["count"] == 2
    assert mr.raw(TOPIC) == [msg, msg]
    assert mr.records(TOPIC)[0].key == key


def test_cambria_with_character_counted_lengths_is_rejected(mr: FakeMessageRouter) -> None:
    msg = '{"name":"é"}'
    body = f"0.{len(msg)}.{msg}".encode()  # the old Java client's char-count bug

    resp = requests.post(
        f"{mr.url}/events/{TOPIC}",
        data=body,
        timeout=5,
        headers={"Content-Type": "application/cambria"},
    )

    assert_mr_error(resp, 400, 5003)
    assert mr.raw(TOPIC) == []


def test_cambria_zip_is_gunzipped(mr: FakeMessageRouter) -> None:
    body = gzip.compress(b'0.7.{"a":1}')

    resp = requests.post(
        f"{mr.url}/events/{TOPIC}",
        data=body,
        timeout=5,
        headers={"Content-Type": "application/cambria-zip"},
    )

    assert resp.json()["count"] == 1
    assert mr.messages(TOPIC) == [{"a": 1}]


def test_text_plain_is_one_message_per_line(mr: FakeMessageRouter) -> None:
    resp = requests.post(
        f"{mr.url}/events/{TOPIC}",
        data="first\nsecond é\r\n".encode(),
        headers={"Content-Type": "text/plain"},
        timeout=5,
    )

    assert resp.json()["count"] == 2
    assert mr.raw(TOPIC) == ["first", "second é"]


# --------------------------------------------------------------------------- subscribe


def test_new_consumer_group_only_sees_messages_published_after_first_get(
    mr: FakeMessageRouter,
) -> None:
    publish(mr, {"seq": "before"})

    assert poll(mr, group="fresh").json() == []
    publish(mr, {"seq": "after"})

    assert [json.loads(m) for m in poll(mr, group="fresh").json()] == [{"seq": "after"}]


def test_subscribe_returns_json_array_of_strings(mr: FakeMessageRouter) -> None:
    prime(mr)
    publish(mr, [{"a": 1}, {"b": [1, 2]}])

    resp = poll(mr)

    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json() == ['{"a":1}', '{"b":[1,2]}']
    assert all(isinstance(item, str) for item in resp.json())


def test_offsets_are_committed_on_write_so_second_get_does_not_repeat(
    mr: FakeMessageRouter,
) -> None:
    prime(mr)
    publish(mr, [{"n": 1}, {"n": 2}])

    first, second = poll(mr).json(), poll(mr).json()

    assert len(first) == 2
    assert second == []


def test_consumers_in_one_group_share_the_offset(mr: FakeMessageRouter) -> None:
    prime(mr)
    publish(mr, {"n": 1})

    assert len(poll(mr, consumer="c2").json()) == 1
    assert poll(mr, consumer="c1").json() == []


def test_limit_caps_the_batch_and_the_rest_follows(mr: FakeMessageRouter) -> None:
    prime(mr)
    publish(mr, [{"n": i} for i in range(5)])

    assert len(poll(mr, limit=2).json()) == 2
    assert len(poll(mr, limit=0).json()) == 3


def test_long_poll_with_nothing_new_returns_empty_within_timeout(mr: FakeMessageRouter) -> None:
    prime(mr)
    started = time.monotonic()

    resp = poll(mr, timeout_ms=400)

    elapsed = time.monotonic() - started
    assert resp.status_code == 200
    assert resp.json() == []
    assert 0.35 <= elapsed < 2.0


def test_long_poll_timeout_is_capped_by_the_double() -> None:
    with FakeMessageRouter(max_poll_seconds=0.3) as router:
        router.create_topic(TOPIC)
        started = time.monotonic()

        assert poll(router, timeout_ms=60000).json() == []
        assert time.monotonic() - started < 2.0


def test_long_poll_returns_as_soon_as_a_message_arrives(mr: FakeMessageRouter) -> None:
    prime(mr)
    timer = threading.Timer(0.2, publish, args=(mr, {"late": True}))
    started = time.monotonic()
    timer.start()

    resp = poll(mr, timeout_ms=2500)

    timer.join()
    assert resp.json() == ['{"late":true}']
    assert time.monotonic() - started < 2.0


def test_concurrent_get_on_same_consumer_id_is_409(mr: FakeMessageRouter) -> None:
    mr.create_topic(TOPIC)
    first: list[requests.Response] = []
    worker = threading.Thread(target=lambda: first.append(poll(mr, timeout_ms=1500)))
    worker.start()
    time.sleep(0.4)

    second = poll(mr, timeout_ms=100)
    other_id = poll(mr, consumer="c2", timeout_ms=100)

    worker.join(5)
    assert_mr_error(second, 409, 5012)
    assert other_id.status_code == 200
    assert first[0].status_code == 200


def test_subscribe_to_unknown_topic_is_404(mr: FakeMessageRouter) -> None:
    assert_mr_error(poll(mr, topic="nope"), 404, 3001)


# --------------------------------------------------------------------------- faults


def test_batch_over_limit_is_413_and_halves_succeed(mr: FakeMessageRouter) -> None:
    mr.max_batch_messages(2)
    batch = [{"n": i} for i in range(4)]

    assert_mr_error(publish(mr, batch), 413, 5001)
    assert mr.raw(TOPIC) == []
    assert publish(mr, batch[:2]).json()["count"] == 2
    assert publish(mr, batch[2:]).json()["count"] == 2
    assert mr.messages(TOPIC) == batch


def test_message_over_byte_limit_is_413_with_5004(mr: FakeMessageRouter) -> None:
    mr.max_message_bytes(10)

    assert_mr_error(publish(mr, [{"a": 1}, {"big": "é" * 10}]), 413, 5004)
    assert mr.raw(TOPIC) == []


def test_partial_publish_stores_first_k_and_answers_500_5007(mr: FakeMessageRouter) -> None:
    mr.partial_publish_next(2)

    body = assert_mr_error(publish(mr, [{"n": i} for i in range(5)]), 500, 5007)

    assert body["message"].endswith("Successfully published number of messages: 2")
    assert mr.messages(TOPIC) == [{"n": 0}, {"n": 1}]
    assert publish(mr, {"n": 9}).status_code == 200


def test_fail_next_429_then_recovers(mr: FakeMessageRouter) -> None:
    mr.fail_next(2, status=429)

    assert_mr_error(publish(mr, {"n": 1}), 429, 5012)
    assert_mr_error(publish(mr, {"n": 1}), 429, 5012)
    assert publish(mr, {"n": 1}).status_code == 200
    assert mr.messages(TOPIC) == [{"n": 1}]
    assert mr.publish_requests == 3


@pytest.mark.parametrize(
    ("status", "mrstatus"),
    [
        (503, 3002),
        (500, 5002),
        (404, 5007),
        (400, 5003),
        (401, 4001),
        (403, 4002),
    ],
)
def test_fail_next_uses_mr_error_codes(mr: FakeMessageRouter, status: int, mrstatus: int) -> None:
    mr.fail_next(1, status=status)

    assert_mr_error(publish(mr, {"n": 1}), status, mrstatus)
    assert mr.raw(TOPIC) == []


def test_fail_for_rejects_publishes_during_the_period(mr: FakeMessageRouter) -> None:
    mr.fail_for(0.4)

    assert_mr_error(publish(mr, {"n": 1}), 503, 3002)
    time.sleep(0.5)
    assert publish(mr, {"n": 2}).status_code == 200
    assert mr.messages(TOPIC) == [{"n": 2}]


def test_fail_next_rejects_unsupported_status(mr: FakeMessageRouter) -> None:
    with pytest.raises(ValueError):
        mr.fail_next(1, status=418)


def test_reset_without_store_raises_connection_error_and_loses_nothing_stored(
    mr: FakeMessageRouter,
) -> None:
    mr.reset_next(1)

    with pytest.raises(requests.ConnectionError):
        publish(mr, {"n": 1})
    assert mr.raw(TOPIC) == []
    assert publish(mr, {"n": 1}).status_code == 200


def test_reset_after_store_duplicates_on_retry(mr: FakeMessageRouter) -> None:
    mr.reset_next(1, store=True)

    with pytest.raises(requests.ConnectionError):
        publish(mr, {"id": "m1"})
    publish(mr, {"id": "m1"})

    assert mr.messages(TOPIC) == [{"id": "m1"}, {"id": "m1"}]


def test_slow_publish_is_still_stored_after_client_timeout(mr: FakeMessageRouter) -> None:
    mr.slow(0.5)

    with pytest.raises(requests.Timeout):
        requests.post(f"{mr.url}/events/{TOPIC}", json={"n": 1}, timeout=0.2)

    assert wait_until(lambda: mr.messages(TOPIC) == [{"n": 1}])


def test_slow_delays_the_reply(mr: FakeMessageRouter) -> None:
    mr.slow(0.3)
    started = time.monotonic()

    assert publish(mr, {"n": 1}).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_down_refuses_connections_and_up_reuses_same_port(mr: FakeMessageRouter) -> None:
    publish(mr, {"n": 1})
    url = mr.url

    mr.down()
    with pytest.raises(requests.ConnectionError):
        publish(mr, {"n": 2})
    mr.up()

    assert mr.url == url
    assert publish(mr, {"n": 3}).status_code == 200
    assert mr.messages(TOPIC) == [{"n": 1}, {"n": 3}]


def test_down_drops_an_in_flight_long_poll(mr: FakeMessageRouter) -> None:
    mr.create_topic(TOPIC)
    errors: list[BaseException] = []

    def long_poll() -> None:
        try:
            poll(mr, timeout_ms=2500)
        except requests.RequestException as exc:
            errors.append(exc)

    worker = threading.Thread(target=long_poll)
    worker.start()
    time.sleep(0.3)
    mr.down()
    worker.join(3)

    assert not worker.is_alive()
    assert errors and isinstance(errors[0], requests.ConnectionError)


# --------------------------------------------------------------------------- auth, TLS


@pytest.mark.parametrize("auth", [None, ("onap", "wrong")])
def test_basic_auth_missing_or_wrong_is_401(auth: tuple[str, str] | None) -> None:
    with FakeMessageRouter(basic_auth=("onap", "secret")) as router:
        resp = publish(router, {"n": 1}, auth=auth)

        assert_mr_error(resp, 401, 4001)
        assert router.raw(TOPIC) == []


def test_basic_auth_correct_credentials_publish() -> None:
    with FakeMessageRouter(basic_auth=("onap", "secret")) as router:
        resp = publish(router, {"n": 1}, auth=("onap", "secret"))

        assert resp.status_code == 200
        assert router.received_headers["Authorization"].startswith("Basic ")


def test_tls_is_verified_with_the_generated_ca_file() -> None:
    with FakeMessageRouter(tls=True) as router:
        assert router.url.startswith("https://127.0.0.1:")
        assert router.ca_file is not None

        resp = publish(router, {"n": 1}, verify=router.ca_file)

        assert resp.json()["count"] == 1
        with pytest.raises(requests.exceptions.SSLError):
            publish(router, {"n": 2}, verify=True)


# --------------------------------------------------------------------------- lifecycle


def test_stop_is_bounded_even_with_a_long_poll_open() -> None:
    router = FakeMessageRouter(max_poll_seconds=10).start()
    router.create_topic(TOPIC)
    worker = threading.Thread(target=lambda: _swallow(lambda: poll(router, timeout_ms=9000)))
    worker.start()
    time.sleep(0.3)
    started = time.monotonic()

    router.stop()

    assert time.monotonic() - started < 3.0
    worker.join(3)
    assert not worker.is_alive()


def test_clear_forgets_messages_counters_and_headers(mr: FakeMessageRouter) -> None:
    publish(mr, {"n": 1})
    assert mr.received_headers["Content-Type"] == "application/json"

    mr.clear()

    assert mr.topics() == []
    assert mr.publish_requests == 0
    assert mr.received_headers == {}


def test_keep_alive_session_serves_many_requests(mr: FakeMessageRouter) -> None:
    with requests.Session() as session:
        mr.create_topic(TOPIC)
        url = f"{mr.url}/events/{TOPIC}"
        assert session.get(f"{url}/cg/c1", params={"timeout": 0}, timeout=5).json() == []
        for n in range(3):
            assert session.post(url, json={"n": n}, timeout=5).json()["count"] == 1
        got = session.get(f"{url}/cg/c1", params={"timeout": 0}, timeout=5).json()

    assert [json.loads(m)["n"] for m in got] == [0, 1, 2]
    assert mr.publish_requests == 3


def test_binds_loopback_ephemeral_port(mr: FakeMessageRouter) -> None:
    assert mr.url.startswith("http://127.0.0.1:")
    assert mr.port > 0


def _swallow(call: Any) -> None:
    """Run ``call`` ignoring request errors (used for connections cut by stop())."""
    try:
        call()
    except requests.RequestException:
        pass


def test_publish_headers_are_the_last_publish_even_after_a_probe(mr: FakeMessageRouter) -> None:
    requests.post(
        f"{mr.url}/events/{TOPIC}",
        data=json.dumps({"n": 1}),
        headers={**JSON, "X-ONAP-RequestID": "r-1"},
        timeout=5,
    )
    requests.get(f"{mr.url}/topics", headers={"X-Probe": "yes"}, timeout=5)

    assert mr.received_headers["X-Probe"] == "yes"
    assert mr.publish_headers["X-ONAP-RequestID"] == "r-1"
    assert "X-Probe" not in mr.publish_headers

    mr.clear()

    assert mr.publish_headers == {}
