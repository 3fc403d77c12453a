"""Wait until the sandbox's Heat can really run stacks (idempotent).

Waits for heat-engine to report up, then creates a one-resource stack as admin
(``OS::Heat::None``: API, RPC, engine, database and the trust to the heat user),
waits for CREATE_COMPLETE, deletes it and waits until it is gone. Runs inside the
sandbox venv with the environment of ks_register.py.
"""

import os

from keystoneauth1 import exceptions as ks_exc
from readiness import admin_session, logger, waiter

log = logger("heat_ready")
wait = waiter("heat_ready")
HEAT = {"service_type": "orchestration", "interface": "public"}
TEMPLATE = {
    "heat_template_version": "2018-08-31",
    "resources": {"nothing": {"type": "OS::Heat::None"}},
}


def main():
    s = admin_session()

    def engine_up():
        services = s.get("/services", endpoint_filter=HEAT).json()["services"]
        return any(x["binary"] == "heat-engine" and x["status"] == "up" for x in services)

    wait("heat-engine to report 'up'", engine_up, 90)
    log("heat-engine is up")

    name = f"osbox-ready-check-{os.getpid()}"
    body = {"stack_name": name, "template": TEMPLATE, "timeout_mins": 2}
    stack_id = s.post("/stacks", json=body, endpoint_filter=HEAT).json()["stack"]["id"]
    path = f"/stacks/{name}/{stack_id}"

    def created():
        stack = s.get(path, endpoint_filter=HEAT).json()["stack"]
        if stack["stack_status"].endswith("FAILED"):
            raise SystemExit(
                f"heat_ready: the check stack failed ({stack['stack_status_reason']}); "
                "see heat-engine.log"
            )
        return stack["stack_status"] == "CREATE_COMPLETE"

    wait("the check stack to be created", created, 60, 0.5)
    s.delete(path, endpoint_filter=HEAT)

    def gone():
        try:
            stack = s.get(path, endpoint_filter=HEAT).json()["stack"]
        except ks_exc.NotFound:
            return True
        if stack["stack_status"] == "DELETE_FAILED":
            raise SystemExit(f"heat_ready: the check stack could not be deleted: {stack}")
        return stack["stack_status"] == "DELETE_COMPLETE"

    wait("the check stack to be deleted", gone, 60, 0.5)
    log("a stack was created and deleted")


if __name__ == "__main__":
    main()
