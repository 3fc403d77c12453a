"""Smoke tests proving the OpenStack sandbox does what integration tests rely on."""

import hashlib
import os
import uuid

import pytest

pytestmark = pytest.mark.sandbox

MiB = 1024 * 1024


def test_admin_and_demo_users_get_tokens_with_their_roles(admin_session, demo_session):
    admin = admin_session.auth.get_access(admin_session)
    demo = demo_session.auth.get_access(demo_session)
    assert admin_session.get_token() and demo_session.get_token()
    assert "admin" in admin.role_names
    assert "member" in demo.role_names
    assert "admin" not in demo.role_names
    assert admin.project_id != demo.project_id


def test_glance_round_trips_a_100mib_image_with_matching_checksums(
    sandbox, admin_session, tmp_path
):
    from glanceclient import Client

    path = tmp_path / "image.raw"
    md5, sha512 = hashlib.md5(), hashlib.sha512()
    with path.open("wb") as f:
        for _ in range(100):
            chunk = os.urandom(MiB)
            md5.update(chunk)
            sha512.update(chunk)
            f.write(chunk)

    glance = Client("2", session=admin_session, region_name=sandbox.region)
    image = glance.images.create(
        name=f"mc-smoke-{uuid.uuid4().hex[:8]}", disk_format="raw", container_format="bare"
    )
    try:
        with path.open("rb") as f:
            glance.images.upload(image.id, f, image_size=100 * MiB)
        stored = glance.images.get(image.id)
        assert stored.status == "active"
        assert stored.size == 100 * MiB
        assert stored.checksum == md5.hexdigest()
        assert stored.os_hash_algo == "sha512"
        assert stored.os_hash_value == sha512.hexdigest()

        down, size = hashlib.md5(), 0
        for chunk in glance.images.data(image.id):
            down.update(chunk)
            size += len(chunk)
        assert size == 100 * MiB
        assert down.hexdigest() == md5.hexdigest()
    finally:
        glance.images.delete(image.id)


def test_server_goes_through_its_whole_lifecycle(servers):
    server = servers.boot()
    sid = server["id"]
    assert server["status"] == "ACTIVE"

    servers.action(sid, "pause")
    servers.wait_for(sid, status="PAUSED", vm_state="paused")
    servers.action(sid, "unpause")
    servers.wait_for(sid, status="ACTIVE", vm_state="active")

    servers.action(sid, "os-stop")
    servers.wait_for(sid, status="SHUTOFF", vm_state="stopped")
    servers.action(sid, "os-start")
    servers.wait_for(sid, status="ACTIVE", vm_state="active")

    servers.action(
        sid,
        "rebuild",
        {"imageRef": servers.image_id("fake-image"), "name": server["name"] + "-rebuilt"},
    )
    rebuilt = servers.wait_for(sid, status="ACTIVE", vm_state="active")
    assert rebuilt["name"].endswith("-rebuilt")

    servers._call("DELETE", f"/servers/{sid}")
    servers.wait_for(sid, status="SOFT_DELETED", vm_state="soft-delete")

    servers.action(sid, "forceDelete")
    servers.wait_gone(sid)


def test_stopping_a_server_emits_legacy_and_versioned_power_off_notifications(
    servers, nova_notifications
):
    sid = servers.boot()["id"]
    servers.action(sid, "os-stop")
    servers.wait_for(sid, status="SHUTOFF")

    legacy = nova_notifications.wait_for("compute.instance.power_off.end", sid, timeout=30)
    versioned = nova_notifications.wait_for("instance.power_off.end", sid, timeout=30)
    assert legacy["priority"] == "info"
    assert legacy["payload"]["state"] == "stopped"
    assert versioned["payload"]["nova_object.name"] == "InstanceActionPayload"
    assert versioned["payload"]["nova_object.data"]["state"] == "stopped"
    errors = [n["event_type"] for n in nova_notifications.events(sid) if n["priority"] == "error"]
    assert errors == []


def test_neutron_creates_network_subnet_and_port_for_a_non_admin_project(sandbox, demo_session):
    if sandbox.neutron_kind != "real":
        pytest.skip(f"sandbox runs the Neutron {sandbox.neutron_kind}, not real Neutron")
    net_api = {"endpoint_filter": {"service_type": "network", "interface": "public"}}
    net = demo_session.post(
        "/v2.0/networks", json={"network": {"name": "mc-smoke"}}, **net_api
    ).json()["network"]
    try:
        subnet = demo_session.post(
            "/v2.0/subnets",
            json={"subnet": {"network_id": net["id"], "ip_version": 4, "cidr": "192.0.2.0/24"}},
            **net_api,
        ).json()["subnet"]
        port = demo_session.post(
            "/v2.0/ports", json={"port": {"network_id": net["id"]}}, **net_api
        ).json()["port"]
        assert port["fixed_ips"][0]["subnet_id"] == subnet["id"]
        listed = demo_session.get(f"/v2.0/ports?network_id={net['id']}", **net_api).json()["ports"]
        assert [p["id"] for p in listed] == [port["id"]]
        demo_session.delete(f"/v2.0/ports/{port['id']}", **net_api)
    finally:
        demo_session.delete(f"/v2.0/networks/{net['id']}", **net_api)
