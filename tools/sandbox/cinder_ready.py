"""Wait until the sandbox's Cinder can really make volumes (idempotent).

Waits for cinder-scheduler and cinder-volume (backend ``osbox@osbox``) to report up,
then creates a 1 GB volume as admin, waits for ``available``, deletes it and waits
until it is gone. Runs inside the sandbox venv with the environment of ks_register.py.
"""

from keystoneauth1 import exceptions as ks_exc
from readiness import admin_session, logger, waiter

log = logger("cinder_ready")
wait = waiter("cinder_ready")
VOLUME = {"service_type": "block-storage", "interface": "public"}
HEADERS = {"OpenStack-API-Version": "volume 3.0"}


def main():
    s = admin_session()
    kw = {"endpoint_filter": VOLUME, "headers": HEADERS}

    def services_up():
        svcs = s.get("/os-services", **kw).json()["services"]
        up = {x["binary"] for x in svcs if x["state"] == "up" and x["status"] == "enabled"}
        return {"cinder-scheduler", "cinder-volume"} <= up

    wait("cinder-scheduler and cinder-volume to report 'up'", services_up, 90)
    log("cinder-scheduler and cinder-volume are up")

    body = {"volume": {"size": 1, "name": "osbox-ready-check"}}
    vol = s.post("/volumes", json=body, **kw).json()["volume"]

    def status():
        st = s.get(f"/volumes/{vol['id']}", **kw).json()["volume"]["status"]
        if st == "error":
            raise SystemExit(
                "cinder_ready: the check volume went to 'error'; see cinder-volume.log"
            )
        return st == "available"

    wait("the check volume to become available", status, 60, 0.5)
    s.delete(f"/volumes/{vol['id']}", **kw)

    def gone():
        try:
            s.get(f"/volumes/{vol['id']}", **kw)
        except ks_exc.NotFound:
            return True
        return False

    wait("the check volume to be deleted", gone, 60, 0.5)
    log("a 1 GB volume was created and deleted")


if __name__ == "__main__":
    main()
