"""The sandbox's Cinder and Neutron port binding do what the typed API and Heat rely on.

Cinder keeps volumes as files in ``OSBOX_VOLUME_DIR`` (tools/sandbox/osbox_cinder.py), so
these tests also look at the bytes on disk.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import pytest

from tests.integration.volumes import VolumeHelper
from tests.sandbox import require_cinder, require_port_binding

pytestmark = pytest.mark.sandbox

MiB = 1024 * 1024
GiB = 1024 * MiB
NETWORK = {"service_type": "network", "interface": "public"}
IMAGE = {"service_type": "image", "interface": "public"}


@pytest.fixture
def cinder(sandbox):
    require_cinder(sandbox)
    return sandbox


@pytest.fixture
def volumes(cinder, admin_session):
    helper = VolumeHelper(admin_session, cinder.region)
    yield helper
    helper.cleanup()


@pytest.fixture
def demo_volumes(cinder, demo_session):
    helper = VolumeHelper(demo_session, cinder.region)
    yield helper
    helper.cleanup()


def volume_file(sandbox, volume_id: str) -> Path:
    return Path(sandbox.env["OSBOX_VOLUME_DIR"]) / f"volume-{volume_id}"


def test_block_storage_and_volumev3_are_in_the_catalog(cinder, demo_session):
    access = demo_session.auth.get_access(demo_session)
    for service_type in ("block-storage", "volumev3"):
        url = access.service_catalog.url_for(service_type=service_type, interface="public")
        assert url == f"{cinder.env['OSBOX_CINDER_URL']}/{access.project_id}"


def test_a_blank_volume_is_a_file_of_its_size_listed_and_deleted(cinder, demo_volumes):
    volume = demo_volumes.create(size=2)
    assert volume["size"] == 2 and volume["bootable"] == "false"
    assert volume_file(cinder, volume["id"]).stat().st_size == 2 * GiB
    listed = demo_volumes.call("GET", f"/volumes?name={volume['name']}").json()["volumes"]
    assert [v["id"] for v in listed] == [volume["id"]]
    demo_volumes.delete(volume["id"])
    assert not volume_file(cinder, volume["id"]).exists()


def test_a_volume_from_an_image_holds_the_images_bytes(cinder, admin_session, volumes):
    data = os.urandom(MiB)
    meta = {
        "name": f"mc-vol-{uuid.uuid4().hex[:6]}",
        "disk_format": "raw",
        "container_format": "bare",
    }
    image = admin_session.post("/v2/images", json=meta, endpoint_filter=IMAGE).json()
    try:
        admin_session.put(
            f"/v2/images/{image['id']}/file",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            endpoint_filter=IMAGE,
        )
        volume = volumes.create(size=1, imageRef=image["id"])
        assert volume["bootable"] == "true"
        assert volume["volume_image_metadata"]["image_id"] == image["id"]
        with volume_file(cinder, volume["id"]).open("rb") as f:
            assert hashlib.sha256(f.read(MiB)).digest() == hashlib.sha256(data).digest()
    finally:
        admin_session.delete(f"/v2/images/{image['id']}", endpoint_filter=IMAGE)


def test_a_volume_is_attached_to_a_server_and_detached(cinder, servers, volumes):
    volume = volumes.create(size=1)
    server = servers.boot()
    path = f"/servers/{server['id']}/os-volume_attachments"
    servers._call("POST", path, json={"volumeAttachment": {"volumeId": volume["id"]}})
    attached = volumes.wait_for(volume["id"], "in-use")
    (attachment,) = attached["attachments"]
    assert attachment["server_id"] == server["id"]
    listed = servers._call("GET", path).json()["volumeAttachments"]
    assert [a["volumeId"] for a in listed] == [volume["id"]]
    servers._call("DELETE", f"{path}/{volume['id']}")
    detached = volumes.wait_for(volume["id"], "available")
    assert detached["attachments"] == []


def test_a_server_boots_on_a_port_and_the_port_is_bound(sandbox, admin_session, servers):
    require_port_binding(sandbox)

    def neutron(method, path, body=None):
        return admin_session.request(path, method, json=body, endpoint_filter=NETWORK)

    tag = uuid.uuid4().hex[:6]
    network = neutron("POST", "/v2.0/networks", {"network": {"name": f"mc-port-{tag}"}})
    network_id = network.json()["network"]["id"]
    port = None
    try:
        subnet = {"network_id": network_id, "ip_version": 4, "cidr": "10.77.0.0/24"}
        neutron("POST", "/v2.0/subnets", {"subnet": subnet})
        port = neutron("POST", "/v2.0/ports", {"port": {"network_id": network_id}}).json()["port"]
        assert port["binding:vif_type"] == "unbound"
        server = servers.boot(networks=[{"port": port["id"]}])
        assert server["status"] == "ACTIVE"
        bound = neutron("GET", f"/v2.0/ports/{port['id']}").json()["port"]
        assert bound["binding:vif_type"] == "ovs"
        assert bound["binding:host_id"] == "osbox"
        assert bound["device_id"] == server["id"]
        assert bound["status"] == "ACTIVE"
        servers.delete(server["id"])
    finally:
        servers.cleanup()
        if port is not None:
            neutron("DELETE", f"/v2.0/ports/{port['id']}")
        neutron("DELETE", f"/v2.0/networks/{network_id}")
