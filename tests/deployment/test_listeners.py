"""Listener replicas sharing one RabbitMQ pool: a crash loses nothing."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest

from tests.deployment.harness import EVENTS_TOPIC, wait_until
from tests.integration.rabbit import Nova, expected_seqs, send_in_background, seq_corpus

pytestmark = [pytest.mark.deployment, pytest.mark.sandbox]

#: Events per publish (MULTICLOUD_MR_BATCH_SIZE's default): duplicates stay within one.
MR_BATCH = 100
#: A publisher's lease on the rows it claimed (listener/publisher.py: at least 60 s).
LEASE = 60.0


def _copies(messages: list) -> dict[str, list[tuple[int, str]]]:
    """mc_seq → [(position on MR, message_id)] of every copy published."""
    found: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for position, message in enumerate(messages):
        if isinstance(message, dict):
            seq = message.get("metadata", {}).get("mc_seq")
            found[seq].append((position, message.get("message_id", "")))
    return found


def test_a_kill_9_of_one_listener_while_10000_notifications_flow_loses_nothing(deployment):
    mr, broker = deployment.mr, deployment.broker
    victim, survivor = deployment.listeners["l1"], deployment.listeners["l2"]
    mr.clear()
    items = seq_corpus(10_000)
    expected = expected_seqs(items)
    nova = Nova(broker.nova_url)
    try:
        started = time.monotonic()
        sender = send_in_background(nova, items)
        wait_until(lambda: len(mr.messages(EVENTS_TOPIC)) > 200, 120, "the first events", 0.1)
        published_before = len(mr.messages(EVENTS_TOPIC))
        killed = time.monotonic()
        victim.kill9()
        sender.join(300)
        sent_in = time.monotonic() - started
        took = wait_until(
            lambda: expected <= set(_copies(mr.messages(EVENTS_TOPIC))),
            300,
            f"{len(expected)} events from the surviving listener",
            0.5,
        )
    finally:
        nova.close()
    all_in = time.monotonic() - killed
    copies = _copies(mr.messages(EVENTS_TOPIC))
    duplicated = {seq: found for seq, found in copies.items() if len(found) > 1}
    extra = sum(len(found) - 1 for found in duplicated.values())
    later_positions = [p for found in duplicated.values() for p, _ in found[1:]]
    span = max(later_positions) - min(later_positions) + 1 if later_positions else 0
    queue = broker.queue(deployment.pool)
    deployment.figures.record(
        "kill -9 of one of two listener replicas while 10,000 notifications flow",
        f"10,000 notifications sent in {sent_in:.0f} s; l1 killed after {published_before} "
        f"events were on Message Router; l2 alone published the rest",
        f"all {len(expected)} events on Message Router {all_in:.0f} s after the kill "
        f"({took:.0f} s after the last notification was sent); 0 lost",
        f"{extra} duplicated (each copy with its message_id; all within one publish of "
        f"{MR_BATCH}: the later copies span {span} consecutive positions); "
        f"pool queue afterwards: {queue[0] if queue else '?'} messages waiting",
        (
            "most of that time the killed replica's publish lease (60 s) held the rows it had "
            "claimed, until it ran out"
            if all_in > LEASE * 0.8
            else "the killed replica held no publish lease then (nothing waited for one)"
        ),
    )
    assert set(copies) - {None} == expected
    assert all(len({mid for _, mid in found}) == 1 for found in duplicated.values())
    assert extra <= MR_BATCH and span <= MR_BATCH, (extra, span)
    assert survivor.running()
