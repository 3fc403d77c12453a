"""API replicas behind HAProxy: start together, crash, restart, and share what they know."""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid

import pytest
import requests

from tests.deployment import haproxy
from tests.deployment.harness import AUTH_CACHE_TTL, FAR, NEAR, OWNER
from tests.deployment.load import Load, failures, summary
from tests.integration.regions import region_body

pytestmark = [pytest.mark.deployment, pytest.mark.sandbox]

VIM_TYPES = "/api/multicloud/v0/vim_types"
#: How long a dead replica may stay in rotation: the next check, one more failed one
#: (fastinter), each taking at most the check timeout.
OUT_OF_ROTATION_BOUND = (
    haproxy.INTER + (haproxy.FALL - 1) * haproxy.FASTINTER + (haproxy.CHECK_TIMEOUT)
)


def read_load(deployment, regions) -> Load:
    """Steady reads through HAProxy: vim_types, a region's registration (the database) and
    its flavors (a Nova call: requests that are still in flight when a replica dies)."""
    paths = [VIM_TYPES, f"{regions[NEAR]}/registry", f"{regions[NEAR]}/admin/flavors"]
    return Load(deployment.url, paths, deployment.headers())


def ok(outcome) -> bool:
    return outcome.status == 200 and outcome.is_json


def test_replicas_starting_together_on_an_empty_database_migrate_once_and_all_serve(deployment):
    applied = {name: replica.migrations_applied() for name, replica in deployment.api.items()}
    rows = deployment.db.query("SELECT app, name FROM django_migrations")
    assert len(rows) == len(set(rows)), "a migration was recorded twice"
    assert sorted(applied.values()) == [0] * (len(applied) - 1) + [len(rows)], applied
    for replica in deployment.api.values():
        answer = requests.get(replica.url + VIM_TYPES, headers=deployment.headers(), timeout=30)
        assert answer.status_code == 200, (replica.name, answer.text)
    deployment.figures.record(
        "Replicas starting together on an empty database",
        f"{len(applied)} API replicas started at the same instant on an empty PostgreSQL "
        "database: migrations applied "
        + ", ".join(f"{name} {count}" for name, count in applied.items())
        + f" ({len(rows)} rows in django_migrations, none twice); all three serve",
        f"the whole harness (namespaces, 3 API replicas, HAProxy, 2 listeners) was ready in "
        f"{deployment.started_in:.0f} s",
    )


def test_a_kill_9_of_an_api_replica_under_load_fails_no_more_than_its_in_flight_requests(
    deployment, regions
):
    lb, victim = deployment.lb, deployment.api["a1"]
    retried_before = lb.retries()
    with read_load(deployment, regions) as load:
        load.wait_for(40)
        in_flight = int(lb.servers()["a1"]["scur"] or 0)
        killed_at = time.monotonic()
        victim.kill9()
        deployment.wait_out_of_rotation("a1")
        out_after = time.monotonic() - killed_at
        load.wait_for(40)
    retried = [now - before for now, before in zip(lb.retries(), retried_before, strict=True)]
    outcomes = load.snapshot()
    after_kill = [o for o in outcomes if o.ended >= killed_at]
    failed = failures(outcomes, ok)
    back = deployment.restart("a1")
    deployment.figures.record(
        "kill -9 of one API replica under steady reads through HAProxy",
        f"reads: {summary(outcomes)}",
        f"since the kill: {summary(after_kill)}",
        f"failed: {len(failed)}, in flight on the killed replica at that moment: {in_flight}; "
        f"HAProxy retried {retried[0]} (redispatched {retried[1]})",
        f"out of rotation {out_after:.2f} s after the kill (bound: next check + one fastinter "
        f"check = {OUT_OF_ROTATION_BOUND:.1f} s); restarted and back in rotation in {back:.1f} s",
    )
    assert len(failed) <= in_flight, summary(failed)
    assert out_after <= OUT_OF_ROTATION_BOUND + 1.0


def test_a_rolling_restart_of_every_replica_under_load_fails_no_request(deployment, regions):
    steps = []
    with read_load(deployment, regions) as load:
        load.wait_for(20)
        for name, replica in deployment.api.items():
            stopping = time.monotonic()
            code = replica.terminate()
            stopped = time.monotonic() - stopping
            back = deployment.restart(name)
            steps.append((name, replica.framework, code, stopped, back, replica.outlived))
        load.wait_for(20)
    outcomes = load.snapshot()
    failed = failures(outcomes, ok)
    deployment.figures.record(
        "Rolling restart of the three API replicas under steady reads (SIGTERM, wait healthy)",
        f"reads: {summary(outcomes)}",
        f"failed: {len(failed)}",
        *(
            f"{name} ({framework}): exit {code} {stopped:.1f} s after SIGTERM, "
            f"{len(outlived)} process(es) outlived it; back in rotation {back:.1f} s after "
            "its start"
            for name, framework, code, stopped, back, outlived in steps
        ),
    )
    assert not failed, summary(failed)
    assert all(code == 0 and not outlived for _, _, code, _, _, outlived in steps), steps


def _statuses(replicas, path: str, headers: dict, times: int = 6) -> list[int]:
    return [
        requests.get(replica.url + path, headers=headers, timeout=30).status_code
        for replica in replicas
        for _ in range(times)
    ]


def test_a_registration_on_one_replica_is_seen_at_once_by_the_others(deployment):
    a1, a2, a3 = deployment.api.values()
    headers = deployment.headers()
    prefix = f"/api/multicloud/v1/{OWNER}/visible{uuid.uuid4().hex[:8]}"
    registry = f"{prefix}/registry"
    # NOTE: several times each, so that every worker of a2 and a3 caches "no such region".
    assert set(_statuses([a2, a3], registry, headers)) == {404}
    body = region_body(deployment.sandbox)
    created = requests.post(a1.url + registry, json=body, headers=headers, timeout=60)
    assert created.status_code == 202, created.text
    registered = time.monotonic()
    seen = _statuses([a2, a3], registry, headers)
    seen_in = time.monotonic() - registered
    assert set(seen) == {200}, seen
    # usable there: a3 decrypts the password a1 stored (the replicas share the key)
    tenants = requests.get(a3.url + f"{prefix}/tenants", headers=headers, timeout=60)
    assert tenants.status_code == 200, tenants.text

    def status() -> str:
        answer = requests.get(a2.url + registry, headers=headers, timeout=30)
        return answer.json()["registry"]["status"]

    deadline = time.monotonic() + 120
    while status() not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.5)
    changed = requests.post(
        a2.url + registry,
        json={**body, "cloud-region-version": "ocata"},
        headers=headers,
        timeout=60,
    )
    assert changed.status_code == 202, changed.text
    versions = {
        requests.get(r.url + registry, headers=headers, timeout=30).json()["cloud-region-version"]
        for r in (a1, a3)
        for _ in range(6)
    }
    assert versions == {"ocata"}
    deleted = requests.delete(a3.url + prefix, headers=headers, timeout=60)
    assert deleted.status_code == 204, deleted.text
    assert set(_statuses([a1, a2], registry, headers)) == {404}
    deployment.figures.record(
        "A registration on one replica, seen by the others",
        f"registered on a1 (django); the next {len(seen)} reads on a2 (django) and a3 (pecan), "
        f"every worker of which had cached the region as unknown, all found it "
        f"({seen_in * 1000:.0f} ms for all of them); a3 used its credentials at once",
        "an update on a2 was read back on a1 and a3 by the next request; a delete on a3 was "
        "404 on a1 and a2 by the next request (the region cache's database stamp)",
    )


def _upload(replica, prefix: str, headers: dict, name: str, data: bytes) -> dict:
    answer = requests.post(
        f"{replica.url}{prefix}/admin/images/file?name={name}&imageType=raw&containerFormat=bare",
        data=data,
        headers={**headers, "Content-Type": "application/octet-stream"},
        timeout=120,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def _distribute(replica, prefix: str, headers: dict, staging_id: str, name: str) -> dict:
    answer = requests.post(
        f"{replica.url}{prefix}/admin/images/file",
        data=json.dumps({"stagingId": staging_id, "name": name}),
        headers={**headers, "Content-Type": "application/json"},
        timeout=120,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_staged_image_copy_is_distributed_from_any_replica(deployment, regions):
    a1, a2, a3 = deployment.api.values()
    headers = deployment.headers()
    data = os.urandom(1 << 20)
    name = f"mcd-staged-{uuid.uuid4().hex[:8]}"
    made: list[tuple[str, str]] = []
    try:
        started = time.monotonic()
        first = _upload(a1, regions[NEAR], headers, name, data)
        made.append((regions[NEAR], first["id"]))
        uploaded = time.monotonic() - started
        copies = []
        for replica, region in ((a2, NEAR), (a3, FAR)):
            started = time.monotonic()
            copy = _distribute(replica, regions[region], headers, first["stagingId"], name)
            made.append((regions[region], copy["id"]))
            copies.append((replica.name, region, copy, time.monotonic() - started))
        for _, _, copy, _ in copies:
            assert copy["stagingId"] == first["stagingId"]
            assert copy["os_hash_value"] == hashlib.sha512(data).hexdigest()
            assert copy["id"] != first["id"]
    finally:
        for prefix, image in made:
            requests.delete(f"{a1.url}{prefix}/admin/images/{image}", headers=headers, timeout=60)
    deployment.figures.record(
        "A staged image copy distributed from any replica (one staging directory all mount)",
        f"1 MiB uploaded through a1 to {NEAR} in {uploaded:.1f} s (stagingId kept)",
        *(
            f"the same stagingId sent by {who} to {region} in {seconds:.1f} s, sha512 equal"
            for who, region, _, seconds in copies
        ),
    )


def _keystone_token(deployment) -> str:
    from tests.sandbox import make_session

    return make_session(deployment.sandbox, deployment.sandbox.admin).get_token()


#: Keystone's revocation events have a one-second granularity: a token revoked within the
#: second it was issued in is still accepted (seen on the sandbox's Keystone).
KEYSTONE_REVOCATION_GRANULARITY = 1.1


def _revoke_at_keystone(deployment, token: str) -> None:
    time.sleep(KEYSTONE_REVOCATION_GRANULARITY)
    answer = requests.delete(
        f"{deployment.sandbox.auth_url}/auth/tokens",
        headers={"X-Auth-Token": deployment.token(), "X-Subject-Token": token},
        timeout=30,
    )
    assert answer.status_code == 204, answer.text


def test_a_token_revoked_at_keystone_is_refused_by_every_replica_within_the_cache_ttl(
    deployment, regions
):
    replicas = list(deployment.api.values())
    token = _keystone_token(deployment)
    headers = {"X-Auth-Token": token}
    assert set(_statuses(replicas, VIM_TYPES, headers)) == {200}  # every worker has seen it
    _revoke_at_keystone(deployment, token)
    revoked = time.monotonic()
    last_ok = dict.fromkeys((r.name for r in replicas), 0.0)
    while time.monotonic() < revoked + AUTH_CACHE_TTL + 2:
        for replica in replicas:
            answer = requests.get(replica.url + VIM_TYPES, headers=headers, timeout=30)
            if answer.status_code == 200:
                last_ok[replica.name] = time.monotonic() - revoked
            else:
                assert answer.status_code == 401, answer.text
        time.sleep(0.2)
    assert set(_statuses(replicas, VIM_TYPES, headers)) == {401}
    proxied = _revoked_through_the_identity_proxy(deployment, regions)
    deployment.figures.record(
        "A token revoked at Keystone (MULTICLOUD_AUTH=keystone, "
        f"MULTICLOUD_AUTH_CACHE_TTL={AUTH_CACHE_TTL} s)",
        "last accepted after the revocation: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in last_ok.items())
        + f"; refused by every worker of every replica from then on (bound: the TTL, "
        f"{AUTH_CACHE_TTL} s; 60 s by default)",
        proxied,
    )
    assert max(last_ok.values()) <= AUTH_CACHE_TTL + 1.0, last_ok


def _revoked_through_the_identity_proxy(deployment, regions) -> str:
    """A region token issued through a1's identity proxy, revoked through a3's: a2 and a1
    refuse it at once (Keystone decides every proxied identity call)."""
    a1, a2, a3 = deployment.api.values()
    proxy = f"{regions[NEAR]}/identity/v3"
    admin = deployment.sandbox.admin
    auth = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": admin.username,
                        "domain": {"name": "Default"},
                        "password": admin.password,
                    }
                },
            },
            "scope": {"project": {"name": admin.project_name, "domain": {"name": "Default"}}},
        }
    }
    issued = requests.post(f"{a1.url}{proxy}/auth/tokens", json=auth, timeout=60)
    assert issued.status_code == 201, issued.text
    token = issued.headers["X-Subject-Token"]
    for replica in (a1, a2):
        answer = requests.get(
            f"{replica.url}{proxy}/auth/projects", headers={"X-Auth-Token": token}, timeout=60
        )
        assert answer.status_code == 200, answer.text
    time.sleep(KEYSTONE_REVOCATION_GRANULARITY)
    revoked = requests.delete(
        f"{a3.url}{proxy}/auth/tokens",
        headers={"X-Auth-Token": token, "X-Subject-Token": token},
        timeout=60,
    )
    assert revoked.status_code == 204, revoked.text
    refused = [
        requests.get(
            f"{replica.url}{proxy}/auth/projects", headers={"X-Auth-Token": token}, timeout=60
        ).status_code
        for replica in (a1, a2)
    ]
    # NOTE: 401 from a worker that asks Keystone to validate it; a worker that had its
    # endpoints cached relays Keystone's own refusal of the call (401, or 404 "not found").
    assert set(refused) <= {401, 404}, refused
    nova = requests.get(
        f"{a1.url}{regions[NEAR]}/nova/v2.1/flavors", headers={"X-Auth-Token": token}, timeout=60
    ).status_code
    return (
        "through the identity proxy: a region token issued via a1 and revoked via a3 was "
        f"refused by a1 and a2 on their next identity call ({refused}: Keystone answers every "
        "one); "
        f"a proxied Nova call with it answered {nova} (Nova's own token cache decides)"
    )
