"""Register the sandbox's services, endpoints and users in Keystone (idempotent).

Runs inside the sandbox venv. Everything comes from the environment:
OSBOX_AUTH_URL, OSBOX_REGION, OSBOX_ADMIN_USER/PASSWORD/PROJECT,
OSBOX_DEMO_USER/PASSWORD/PROJECT, OSBOX_SERVICE_PASSWORD and
OSBOX_SVC_<TYPE>=<name>|<url> (``_`` in TYPE for ``-``) for every service to put in the catalog,
OSBOX_ABSENT_SERVICES: service types to take out of it, and OSBOX_HEAT_STACK_DOMAIN (when
Heat runs): the domain of Heat's stack users, with its admin ``heat_domain_admin``.
"""

import os
import sys

from readiness import admin_session

ENV = os.environ


class Identity:
    def __init__(self, sess):
        self.s = sess
        self.kw = {"endpoint_filter": {"service_type": "identity", "interface": "public"}}

    def get(self, path, key):
        return self.s.get(path, **self.kw).json()[key]

    def find(self, path, key, **query):
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        found = self.get(f"{path}?{qs}", key)
        return found[0] if found else None

    def post(self, path, key, body):
        return self.s.post(path, json={key: body}, **self.kw).json()[key]

    def patch(self, path, key, body):
        return self.s.patch(path, json={key: body}, **self.kw).json()[key]

    def put(self, path):
        self.s.put(path, **self.kw)

    def project(self, name, description):
        p = self.find("/projects", "projects", name=name, domain_id="default")
        if p is None:
            p = self.post(
                "/projects",
                "project",
                {"name": name, "domain_id": "default", "description": description},
            )
        return p

    def role(self, name):
        r = self.find("/roles", "roles", name=name)
        if r is None:
            r = self.post("/roles", "role", {"name": name})
        return r

    def domain(self, name, description):
        d = self.find("/domains", "domains", name=name)
        if d is None:
            d = self.post("/domains", "domain", {"name": name, "description": description})
        return d

    def user(self, name, password, project, domain_id="default"):
        u = self.find("/users", "users", name=name, domain_id=domain_id)
        if u is None:
            body = {"name": name, "domain_id": domain_id, "password": password}
            if project is not None:
                body["default_project_id"] = project["id"]
            u = self.post("/users", "user", body)
        else:
            # keep the stored password in step with the state dir's secrets
            self.patch(f"/users/{u['id']}", "user", {"password": password})
        return u

    def grant(self, project, user, role):
        self.put(f"/projects/{project['id']}/users/{user['id']}/roles/{role['id']}")

    def grant_domain(self, domain, user, role):
        self.put(f"/domains/{domain['id']}/users/{user['id']}/roles/{role['id']}")

    def drop_service(self, stype):
        svc = self.find("/services", "services", type=stype)
        if svc is not None:
            self.s.delete(f"/services/{svc['id']}", **self.kw)  # its endpoints go with it

    def service(self, stype, name, url, region):
        svc = self.find("/services", "services", type=stype)
        if svc is None:
            svc = self.post("/services", "service", {"type": stype, "name": name, "enabled": True})
        existing = self.get(f"/endpoints?service_id={svc['id']}", "endpoints")
        for iface in ("public", "internal", "admin"):
            match = [e for e in existing if e["interface"] == iface]
            if match:
                ep = match[0]
                if ep["url"] != url or ep.get("region_id") != region:
                    self.patch(
                        f"/endpoints/{ep['id']}", "endpoint", {"url": url, "region_id": region}
                    )
                for extra in match[1:]:
                    self.s.delete(f"/endpoints/{extra['id']}", **self.kw)
            else:
                self.post(
                    "/endpoints",
                    "endpoint",
                    {
                        "service_id": svc["id"],
                        "interface": iface,
                        "url": url,
                        "region_id": region,
                        "enabled": True,
                    },
                )


def main():
    ident = Identity(admin_session())
    region = ENV["OSBOX_REGION"]
    service_password = ENV["OSBOX_SERVICE_PASSWORD"]

    admin_role = ident.role("admin")
    service_role = ident.role("service")
    member_role = ident.role("member")

    service_project = ident.project("service", "sandbox service users")
    for svc_user in ENV.get("OSBOX_SERVICE_USERS", "glance nova placement").split():
        u = ident.user(svc_user, service_password, service_project)
        ident.grant(service_project, u, admin_role)
        ident.grant(service_project, u, service_role)

    stack_domain = ENV.get("OSBOX_HEAT_STACK_DOMAIN")
    if stack_domain:
        # Heat: its stack users' domain and that domain's admin (stack_domain_admin in
        # heat.conf), the role Heat gives stack users, and the legacy stack owner role
        domain = ident.domain(stack_domain, "Heat stack users")
        domain_admin = ident.user("heat_domain_admin", service_password, None, domain["id"])
        ident.grant_domain(domain, domain_admin, admin_role)
        ident.role("heat_stack_user")
        ident.role("heat_stack_owner")

    demo_project = ident.project(ENV["OSBOX_DEMO_PROJECT"], "sandbox non-admin project")
    demo_user = ident.user(ENV["OSBOX_DEMO_USER"], ENV["OSBOX_DEMO_PASSWORD"], demo_project)
    ident.grant(demo_project, demo_user, member_role)

    for key, value in sorted(ENV.items()):
        if not key.startswith("OSBOX_SVC_"):
            continue
        # OSBOX_SVC_BLOCK_STORAGE -> service type block-storage
        stype = key[len("OSBOX_SVC_") :].lower().replace("_", "-")
        name, url = value.split("|", 1)
        ident.service(stype, name, url, region)
    for stype in ENV.get("OSBOX_ABSENT_SERVICES", "").split():
        # a service an earlier start registered but this one does not run (OSBOX_CINDER=0)
        ident.drop_service(stype)
    print("keystone registration done", file=sys.stderr)


if __name__ == "__main__":
    main()
