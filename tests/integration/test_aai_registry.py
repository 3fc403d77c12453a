"""The ESR flow against the sandbox cloud and the A&AI double, in both web frameworks.

ESR writes the region and its credentials into A&AI → empty POST .../registry → 202 →
the job writes tenants, flavors + HPA, images, AZs, pservers and the identity-url back
→ re-registration after a flavor was deleted in the cloud removes it → unregistration
removes only what this service wrote. Faults: A&AI down mid-job, a concurrent writer,
A&AI slow.
"""

from __future__ import annotations

import io
import json
import time

import pytest

from multicloud.vims import hpa
from multicloud.vims.models import CloudRegion
from tests.integration.aai_helpers import CR, OnapFlavor, esr_writes_the_region, wait_job

pytestmark = [pytest.mark.sandbox, pytest.mark.django_db(transaction=True)]

V1 = "/api/multicloud/v1/osbox/RegionOne"
V0 = "/api/multicloud/v0/osbox_RegionOne"
VIO = "/api/multicloud-vio/v1/osbox/RegionOne"
SO_TENANT = f"{CR}/tenants/tenant/so-owned-tenant"
SO_VSERVER = f"{SO_TENANT}/vservers/vserver/vm-1"


@pytest.fixture
def onap_flavor(admin_session):
    flavor = OnapFlavor(admin_session)
    yield flavor
    flavor.delete()


@pytest.fixture
def kept_flavor(admin_session):
    """A second onap.* flavor that stays in the cloud across the re-registration."""
    flavor = OnapFlavor(admin_session)
    yield flavor
    flavor.delete()


def so_wrote_a_vserver(aai) -> None:
    """What SO's heatbridge left in A&AI: a tenant of its own holding a vserver."""
    aai.seed(SO_TENANT, {"tenant-id": "so-owned-tenant", "tenant-name": "so"})
    aai.seed(SO_VSERVER, {"vserver-id": "vm-1", "vserver-name": "vm", "vserver-selflink": "x"})


def children(aai, plural: str) -> dict[str, dict]:
    """The objects under the region (depth all), by key."""
    region = aai.get(CR, depth=1000) or {}
    singular = {"tenants": "tenant", "flavors": "flavor", "images": "image"}.get(plural)
    singular = singular or "availability-zone"
    key = {"tenants": "tenant-id", "flavors": "flavor-id", "images": "image-id"}.get(plural)
    key = key or "availability-zone-name"
    return {o[key]: o for o in (region.get(plural) or {}).get(singular, [])}


def capability_ids(aai, flavor_id: str) -> set[str]:
    flavor = aai.get(f"{CR}/flavors/flavor/{flavor_id}", depth=1) or {}
    return {c["hpa-capability-id"] for c in flavor["hpa-capabilities"]["hpa-capability"]}


def other_routes_work_on_an_aai_region(api, sandbox) -> None:
    """Tenants, images, capacity, the typed API and events, as on a local region."""
    project = sandbox.admin.project_name
    answer = api.request("GET", f"{V0}/tenants")
    assert {"admin", "demo"} <= {t["name"] for t in answer.json()["tenants"]}
    answer = api.request("GET", f"{V1}/{project}/images?name=fake-image")
    assert answer.status == 200 and answer.json()["images"], answer.body
    answer = api.request("GET", f"{VIO}/{project}/flavors?name=m1.tiny")
    assert answer.status == 200 and answer.json()["flavors"], answer.body
    fits = json.dumps({"vCPU": 1, "Memory": 1, "Storage": 1}).encode()
    answer = api.request("POST", f"{V0}/capacity_check", fits)
    assert answer.status == 200 and answer.json()["result"] is True, answer.body
    assert api.request("GET", f"{V1}/events").status == 200


def pservers(aai) -> list[str]:
    return [p for p in aai.paths("pserver") if p.rsplit("/", 1)[1].startswith("osbox_RegionOne_")]


def register(api, base=V1, body=b""):
    answer = api.request("POST", f"{base}/registry", body)
    assert answer.status == 202, answer.body
    return answer


PUBLIC = "https://multicloud.onap.example:9001"


def test_the_esr_flow(api, use_aai, fake_aai, sandbox, onap_flavor, kept_flavor):
    aai_mode = fake_aai
    use_aai(aai_mode, MULTICLOUD_PUBLIC_URL=PUBLIC)
    esr_writes_the_region(aai_mode, sandbox)
    so_wrote_a_vserver(aai_mode)
    register(api, V0)
    state = wait_job(api, V1)
    assert state["registry"]["status"] == "done", state["registry"]

    tenants = children(aai_mode, "tenants")
    assert {"admin", "demo", "so"} <= {t["tenant-name"] for t in tenants.values()}
    flavors = children(aai_mode, "flavors")
    assert "m1.tiny" in {f["flavor-name"] for f in flavors.values()}
    ours = flavors[onap_flavor.id]
    caps = {c["hpa-feature"]: c for c in ours["hpa-capabilities"]["hpa-capability"]}
    assert set(caps) == {"basicCapabilities", "localStorage", "cpuPinning", "hugePages", "numa"}
    assert caps["cpuPinning"]["hpa-capability-id"] == hpa.capability_id(
        onap_flavor.id, "cpuPinning"
    )
    pinning = {
        a["hpa-attribute-key"]: json.loads(a["hpa-attribute-value"])
        for a in caps["cpuPinning"]["hpa-feature-attributes"]
    }
    assert pinning == {"logicalCpuPinningPolicy": {"value": "dedicated"}}
    assert (
        "hpa-capabilities"
        not in flavors[next(k for k, f in flavors.items() if f["flavor-name"] == "m1.tiny")]
    )
    images = children(aai_mode, "images")
    assert "fake-image" in {i["image-name"] for i in images.values()}
    assert "nova" in children(aai_mode, "availability-zones")
    hosts = pservers(aai_mode)
    assert hosts
    links = {r["related-link"] for r in aai_mode.get(hosts[0])["relationship-list"]["relationship"]}
    assert f"/aai/v13{CR}" in links
    assert f"/aai/v13{CR}/availability-zones/availability-zone/nova" in links
    region = aai_mode.get(CR)
    assert region["identity-url"] == f"{PUBLIC}/api/multicloud/v1/osbox/RegionOne/identity/v3"
    assert region["cloud-type"] == "openstack" and region["complex-name"] == "clli1"  # kept

    state = api.request("GET", f"{VIO}/registry").json()
    assert state["aai"]["written"]["flavors"] and state["aai"]["written"]["pservers"]
    assert sandbox.admin.password not in json.dumps(state)
    record = CloudRegion.objects.get()
    assert record.password == sandbox.admin.password
    assert sandbox.admin.password not in record.password_encrypted
    other_routes_work_on_an_aai_region(api, sandbox)

    kept_caps = capability_ids(aai_mode, kept_flavor.id)
    assert kept_caps == {hpa.capability_id(kept_flavor.id, f) for f in caps}
    demo = next(k for k, t in tenants.items() if t["tenant-name"] == "demo")
    so_vserver_in_our_tenant = f"{CR}/tenants/tenant/{demo}/vservers/vserver/vm-2"
    aai_mode.seed(
        so_vserver_in_our_tenant,
        {"vserver-id": "vm-2", "vserver-name": "vm", "vserver-selflink": "x"},
    )

    # Re-registration after a flavor was deleted in the cloud: gone from A&AI, nothing doubled.
    before = len(aai_mode.log)
    onap_flavor.delete()
    register(api, V1)
    state = wait_job(api, V1)
    assert state["registry"]["status"] == "done", state["registry"]
    assert onap_flavor.id not in children(aai_mode, "flavors")
    assert capability_ids(aai_mode, kept_flavor.id) == kept_caps  # updated in place
    puts = [r for r in aai_mode.log[before:] if r["method"] == "PUT"]
    steady = [
        r
        for r in puts
        if f"/flavor/{kept_flavor.id}" in r["path"]
        or "/tenants/tenant/" in r["path"]
        or "/pservers/" in r["path"]
        or "/availability-zones/" in r["path"]
    ]
    assert steady and {r["status"] for r in steady} == {200}, steady  # updates, no creates
    assert len(children(aai_mode, "tenants")) == len(tenants)
    assert len(pservers(aai_mode)) == len(hosts)

    # Unregistration: only what this service wrote goes; what others still use stays.
    assert api.request("DELETE", V1).status == 204
    region = aai_mode.get(CR)
    assert region is not None and "identity-url" not in region
    assert aai_mode.exists(f"{CR}/esr-system-info-list/esr-system-info/esr-osbox")
    assert set(children(aai_mode, "tenants")) == {"so-owned-tenant", demo}  # demo holds vm-2
    assert aai_mode.exists(SO_VSERVER) and aai_mode.exists(so_vserver_in_our_tenant)
    assert children(aai_mode, "flavors") == {} and children(aai_mode, "images") == {}
    assert children(aai_mode, "availability-zones") == {}
    assert pservers(aai_mode) == []
    assert not CloudRegion.objects.exists()
    assert api.request("GET", f"{V1}/registry").status == 404


def test_credentials_rotated_in_esr_are_read_again(api, aai_mode, sandbox):
    esr_writes_the_region(aai_mode, sandbox, password="wrong-password")
    register(api)
    state = wait_job(api, V1)
    assert state["registry"]["status"] == "failed"
    assert "rejected the credentials" in state["registry"]["error"]
    assert not pservers(aai_mode)  # nothing written with credentials the cloud refused
    esr_writes_the_region(aai_mode, sandbox)  # ESR rotates the password
    register(api)
    assert wait_job(api, V1)["registry"]["status"] == "done"


def test_default_tenant_of_the_body_is_honoured(api, aai_mode, sandbox):
    esr_writes_the_region(aai_mode, sandbox, creds=sandbox.demo)
    register(api, body=json.dumps({"defaultTenant": sandbox.demo.project_name}).encode())
    state = wait_job(api, V1)
    assert state["registry"]["status"] == "done", state["registry"]
    assert CloudRegion.objects.get().default_tenant == sandbox.demo.project_name
    assert {t["tenant-name"] for t in children(aai_mode, "tenants").values()} == {"demo"}
    assert pservers(aai_mode) == []  # a non-admin sees no hypervisors


def test_aai_down_mid_job_fails_with_the_reason_and_a_rerun_repairs(api, aai_mode, sandbox):
    esr_writes_the_region(aai_mode, sandbox)
    aai_mode.down_after_writes(3)
    register(api)
    state = wait_job(api, V1)
    assert state["registry"]["status"] == "failed"
    assert "cannot reach A&AI" in state["registry"]["error"]
    aai_mode.up()
    register(api)
    state = wait_job(api, V1)
    assert state["registry"]["status"] == "done", state["registry"]
    written = api.request("GET", f"{V1}/registry").json()["aai"]["written"]
    assert sorted(written["tenants"]) == sorted(
        f"{CR}/tenants/tenant/{t}" for t in children(aai_mode, "tenants")
    )
    assert api.request("DELETE", V1).status == 204
    assert children(aai_mode, "tenants") == {} and pservers(aai_mode) == []


def test_a_concurrent_writer_bumping_versions_is_handled(api, aai_mode, sandbox):
    esr_writes_the_region(aai_mode, sandbox)
    register(api)
    assert wait_job(api, V1)["registry"]["status"] == "done"
    aai_mode.concurrent_writer(6)  # tenants, flavors, images ... each once
    before = len(aai_mode.log)
    register(api)
    state = wait_job(api, V1)
    assert state["registry"]["status"] == "done", state["registry"]
    assert aai_mode.faults.bump_writes == 0
    # NOTE: DELETEs count too (the shared sandbox's flavors and images come and go).
    refused = [r for r in aai_mode.log[before:] if r.get("status") == 412]
    assert len(refused) == 6  # each met a moved-on version, and was answered by a re-read


def test_aai_slow_during_the_job_is_bounded(api, use_aai, fake_aai, sandbox):
    use_aai(fake_aai, AAI_TIMEOUT="1")  # the cloud keeps MULTICLOUD_CLOUD_TIMEOUT
    esr_writes_the_region(fake_aai, sandbox)
    fake_aai.slow(5, methods=("PUT",))
    started = time.monotonic()
    register(api)
    state = wait_job(api, V1, timeout=60)
    fake_aai.slow(0)
    assert state["registry"]["status"] == "failed"
    assert (
        "did not answer" in state["registry"]["error"] and "in time" in state["registry"]["error"]
    )
    assert time.monotonic() - started < 50  # one write's timeout, not ten per object


def test_the_shell_command_registers_from_aai_and_unregisters_what_it_wrote(
    use_aai, fake_aai, sandbox
):
    from django.core.management import CommandError, call_command

    use_aai(fake_aai)
    esr_writes_the_region(fake_aai, sandbox)
    with pytest.raises(CommandError, match="MULTICLOUD_PUBLIC_URL"):
        call_command("cloud_region", "register", "osbox", "RegionOne")
    use_aai(fake_aai, MULTICLOUD_PUBLIC_URL=PUBLIC)
    out = io.StringIO()
    call_command("cloud_region", "register", "osbox", "RegionOne", stdout=out)
    shown = json.loads(out.getvalue())
    assert shown["registry"]["status"] == "done", shown["registry"]  # the job ran before return
    assert shown["aai"]["written"]["pservers"] and pservers(fake_aai)
    assert sandbox.admin.password not in out.getvalue()
    call_command("cloud_region", "unregister", "osbox", "RegionOne", stdout=io.StringIO())
    assert pservers(fake_aai) == [] and children(fake_aai, "tenants") == {}
    assert fake_aai.exists(CR) and not CloudRegion.objects.exists()
