"""What the sandbox scripts share: a log line, a bounded wait and an admin session.

Imported by ks_register.py (the admin session) and by nova_ready.py, cinder_ready.py and
heat_ready.py; all run inside the sandbox venv with OSBOX_AUTH_URL and OSBOX_ADMIN_* set.
"""

import os
import sys
import time

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3


def logger(name):
    """A function printing ``name: message`` lines to stderr."""

    def log(msg):
        print(f"{name}: {msg}", file=sys.stderr, flush=True)

    return log


def waiter(name):
    """A ``wait(what, probe, timeout, interval=1.0)`` calling ``probe`` until it returns
    something true, and exiting the script named ``name`` after ``timeout`` s."""

    def wait(what, probe, timeout, interval=1.0):
        deadline = time.monotonic() + timeout
        while True:
            result = probe()
            if result:
                return result
            if time.monotonic() > deadline:
                raise SystemExit(f"{name}: timed out after {timeout}s waiting for {what}")
            time.sleep(interval)

    return wait


def admin_session():
    """A keystoneauth session as the sandbox's admin, project-scoped."""
    env = os.environ
    auth = v3.Password(
        auth_url=env["OSBOX_AUTH_URL"] + "/v3",
        username=env["OSBOX_ADMIN_USER"],
        password=env["OSBOX_ADMIN_PASSWORD"],
        project_name=env["OSBOX_ADMIN_PROJECT"],
        user_domain_id="default",
        project_domain_id="default",
    )
    return ks_session.Session(auth=auth)
