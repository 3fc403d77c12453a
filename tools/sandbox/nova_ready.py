"""Bring the sandbox's Nova to a usable state and create test resources (idempotent).

Waits for nova-compute to report up, maps the host into cell1, waits until the
hypervisor and its inventory exist in Placement, then makes sure flavors
m1.tiny / m1.small and the 1 MiB raw image ``fake-image`` exist.
Runs inside the sandbox venv; configuration comes from the same environment
variables as ks_register.py plus OSBOX_NOVA_CONF and OSBOX_VENV.
"""

import os
import subprocess

from readiness import admin_session, logger, waiter

ENV = os.environ
log = logger("nova_ready")
wait = waiter("nova_ready")
COMPUTE = {"service_type": "compute", "interface": "public"}
PLACEMENT = {"service_type": "placement", "interface": "public"}
IMAGE = {"service_type": "image", "interface": "public"}
FLAVORS = [
    # name, ram MiB, vcpus, disk GiB
    ("m1.tiny", 64, 1, 1),
    ("m1.small", 128, 1, 2),
]
IMAGE_NAME = "fake-image"
IMAGE_SIZE = 1024 * 1024


def main():
    s = admin_session()
    nova_hdr = {"OpenStack-API-Version": "compute 2.53"}

    def compute_up():
        svcs = s.get(
            "/os-services?binary=nova-compute", endpoint_filter=COMPUTE, headers=nova_hdr
        ).json()["services"]
        return [x for x in svcs if x["state"] == "up"]

    wait("nova-compute to report 'up'", compute_up, 90)
    log("nova-compute is up")

    manage = os.path.join(ENV["OSBOX_VENV"], "bin", "nova-manage")
    out = subprocess.run(
        [manage, "--config-file", ENV["OSBOX_NOVA_CONF"], "cell_v2", "discover_hosts"],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise SystemExit(f"nova_ready: discover_hosts failed: {out.stderr[-2000:]}")

    def hypervisor():
        return s.get("/os-hypervisors", endpoint_filter=COMPUTE, headers=nova_hdr).json()[
            "hypervisors"
        ]

    wait("a hypervisor in nova", hypervisor, 60)

    def inventory():
        rps = s.get("/resource_providers", endpoint_filter=PLACEMENT).json()
        for rp in rps["resource_providers"]:
            inv = s.get(
                f"/resource_providers/{rp['uuid']}/inventories", endpoint_filter=PLACEMENT
            ).json()["inventories"]
            if "VCPU" in inv and "MEMORY_MB" in inv:
                return True
        return False

    wait("VCPU/MEMORY_MB inventory in placement", inventory, 60)
    log("hypervisor and placement inventory present")

    existing = {f["name"] for f in s.get("/flavors", endpoint_filter=COMPUTE).json()["flavors"]}
    for name, ram, vcpus, disk in FLAVORS:
        if name not in existing:
            s.post(
                "/flavors",
                endpoint_filter=COMPUTE,
                json={
                    "flavor": {
                        "name": name,
                        "ram": ram,
                        "vcpus": vcpus,
                        "disk": disk,
                        "os-flavor-access:is_public": True,
                    }
                },
            )
            log(f"created flavor {name}")

    images = s.get(f"/v2/images?name={IMAGE_NAME}", endpoint_filter=IMAGE).json()["images"]
    active = [i for i in images if i["status"] == "active"]
    for broken in [i for i in images if i["status"] != "active"]:
        s.delete(f"/v2/images/{broken['id']}", endpoint_filter=IMAGE)
    if not active:
        img = s.post(
            "/v2/images",
            endpoint_filter=IMAGE,
            json={
                "name": IMAGE_NAME,
                "disk_format": "raw",
                "container_format": "bare",
                "visibility": "public",
            },
        ).json()
        s.put(
            f"/v2/images/{img['id']}/file",
            endpoint_filter=IMAGE,
            headers={"Content-Type": "application/octet-stream"},
            data=b"\0" * IMAGE_SIZE,
        )
        log(f"uploaded image {IMAGE_NAME} ({img['id']})")


if __name__ == "__main__":
    main()
