"""The harness's network: a Linux bridge, one network namespace per host, veth pairs.

One run is named ``mcd<pid>`` after the pytest process that made it, so the leftovers
of a crashed run (namespaces and their processes, the bridge, the host's nftables
table, the database) are found by name and removed by the next run
(:func:`remove_leftovers`), never those of a run that is still alive::

    the machine (host namespace)                 network namespaces, one per "host"
    bridge mcd<pid>br  10.213.N.1  gateway  ──veth──  mcd<pid>-lb  .5       HAProxy
                       10.213.N.2  the second       mcd<pid>-a1…a3 .11-.13  API replicas
                                   cloud address    mcd<pid>-l1…l2 .21-.22  listeners

PostgreSQL, RabbitMQ, the OpenStack sandbox and the Message Router double listen on
127.0.0.1 only, and Keystone's catalog names 127.0.0.1 URLs. So, in every namespace,
nftables rewrites connections to 127.0.0.1:<port> towards the gateway (``route_localnet``
lets the 127/8 source leave, masquerade gives it the namespace's address); on the
machine, connections from the bridge to the gateway (or the second address) are
rewritten to 127.0.0.1:<port> (``route_localnet`` on the bridge) and their source to
127.0.0.1, so loopback-only access rules (PostgreSQL's pg_hba, RabbitMQ) accept them.
Every database, broker and cloud byte of a replica therefore crosses its veth, where
:class:`Host` injects faults. Nothing is routed off the machine: the namespaces have
no default route.

Faults are nftables rules in the namespace (this machine's kernel has no ``sch_netem``
and loads no modules, so ``tc netem`` is not available): ``silent`` drops every packet
towards the address (100 % loss: connections time out), ``stall`` lets the connection
open and drops everything sent on it (a cloud that accepts connections and never
answers), ``route`` installs an unreachable route (refused at once).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "mcd"
#: Candidate subnets: 10.213.N.0/24, the first that overlaps nothing on the machine.
SUBNET_BASE = ipaddress.ip_network("10.213.0.0/16")
#: The namespace side of every veth pair.
DEVICE = "eth0"
FAULTS = ("silent", "stall", "route")
_OWNER = re.compile(rf"^{PREFIX}(\d+)(-?[a-z]+\d*)?$")


class NetworkError(RuntimeError):
    """A command that builds or changes the network failed."""


def run(*argv: str, stdin: str | None = None, check: bool = True) -> str:
    """Run a command (bounded); its stdout, or :class:`NetworkError` with its stderr."""
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise NetworkError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


def ensure_command(binary: str, package: str) -> str:
    """The path of ``binary``; Debian's ``package`` is installed (apt-get) when it is missing."""
    found = shutil.which(binary)
    if found:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", package],
    ):
        subprocess.run(argv, env=env, check=True, capture_output=True, timeout=600)
    found = shutil.which(binary)
    if not found:
        raise NetworkError(f"apt-get installed {package} but {binary} is not on PATH")
    return found


def run_tag(pid: int | None = None) -> str:
    return f"{PREFIX}{pid or os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale(name: str) -> bool:
    """A name of this harness whose run's process is gone."""
    found = _OWNER.match(name)
    return found is not None and not _alive(int(found.group(1)))


def namespace_pids(namespace: str) -> list[int]:
    return [int(pid) for pid in run("ip", "netns", "pids", namespace, check=False).split()]


def kill_namespace(namespace: str, signum: int = signal.SIGKILL) -> int:
    """Send ``signum`` to every process in the namespace (a crashed "host"); how many."""
    pids = namespace_pids(namespace)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
    return len(pids)


def remove_leftovers() -> list[str]:
    """Remove what crashed runs left behind (their processes too); what was removed."""
    removed = []
    for namespace in run("ip", "netns", "list").split("\n"):
        name = namespace.split(" ")[0]
        if name and stale(name):
            kill_namespace(name)
            run("ip", "netns", "delete", name, check=False)
            removed.append(name)
    for link in json.loads(run("ip", "-j", "link", "show") or "[]"):
        if stale(link["ifname"]):
            run("ip", "link", "delete", link["ifname"], check=False)
            removed.append(link["ifname"])
    for line in run("nft", "list", "tables").splitlines():
        table = line.split()[-1] if line.startswith("table ip ") else ""
        if table and stale(table):
            run("nft", "delete", "table", "ip", table, check=False)
            removed.append(f"nft {table}")
    return removed


def _taken_networks() -> list[ipaddress.IPv4Network]:
    taken = []
    for route in json.loads(run("ip", "-j", "-4", "route", "show", "table", "all") or "[]"):
        dst = route.get("dst", "")
        if dst and dst != "default" and route.get("type", "unicast") != "local":
            taken.append(ipaddress.ip_network(dst if "/" in dst else f"{dst}/32", strict=False))
    for link in json.loads(run("ip", "-j", "-4", "addr", "show") or "[]"):
        for info in link.get("addr_info", []):
            taken.append(ipaddress.ip_interface(f"{info['local']}/{info['prefixlen']}").network)
    return taken


def free_subnet(seed: int) -> ipaddress.IPv4Network:
    """A /24 of 10.213.0.0/16 that overlaps no route or address of the machine."""
    taken = _taken_networks()
    candidates = list(SUBNET_BASE.subnets(new_prefix=24))
    for i in range(len(candidates)):
        subnet = candidates[(seed + i) % len(candidates)]
        if not any(subnet.overlaps(other) for other in taken):
            return subnet
    raise NetworkError(f"no free /24 in {SUBNET_BASE}")


def _ports(ports: list[int]) -> str:
    return ", ".join(str(port) for port in sorted(set(ports)))


@dataclass
class Host:
    """One network namespace on the bridge: a machine of the deployment."""

    network: Network
    name: str  # short: a1, l2, lb
    address: str

    @property
    def namespace(self) -> str:
        return f"{self.network.tag}-{self.name}"

    def argv(self, *command: str) -> list[str]:
        """``command`` run inside this host's namespace."""
        return ["ip", "netns", "exec", self.namespace, *command]

    def pids(self) -> list[int]:
        return namespace_pids(self.namespace)

    def kill_all(self, signum: int = signal.SIGKILL) -> int:
        return kill_namespace(self.namespace, signum)

    def nft(self, script: str) -> None:
        run(*self.argv("nft", "-f", "-"), stdin=script)

    def cut(self, address: str, fault: str) -> None:
        """Impair this host's traffic with ``address`` (one of :data:`FAULTS`)."""
        if fault == "silent":
            self.nft(f'add rule ip mcd faults_out oifname "{DEVICE}" ip daddr {address} drop\n')
        elif fault == "stall":
            # NOTE: only the SYN leaves: the cloud's SYN-ACK completes the connection on our
            # side, and the request never reaches it (a shared cloud does no work for it).
            self.nft(
                f'add rule ip mcd faults_out oifname "{DEVICE}" ip daddr {address} '
                "tcp flags & (syn | ack) == ack drop\n"
            )
        elif fault == "route":
            run(*self.argv("ip", "route", "add", "unreachable", f"{address}/32"))
        else:
            raise ValueError(f"unknown fault {fault!r}: one of {FAULTS}")

    def heal(self) -> None:
        """Remove every fault of this host."""
        self.nft("flush chain ip mcd faults_out\nflush chain ip mcd faults_in\n")
        for line in run(*self.argv("ip", "route", "show", "type", "unreachable")).splitlines():
            run(*self.argv("ip", "route", "del", "unreachable", line.split()[1]), check=False)


@dataclass
class Network:
    """The bridge, its hosts and the rules that give them the machine's loopback services."""

    tag: str
    subnet: ipaddress.IPv4Network
    ports: list[int]
    hosts: dict[str, Host] = field(default_factory=dict)

    @property
    def bridge(self) -> str:
        return f"{self.tag}br"

    def address(self, last: int) -> str:
        return str(self.subnet.network_address + last)

    @property
    def gateway(self) -> str:
        """The machine on the bridge: where the namespaces find 127.0.0.1's services."""
        return self.address(1)

    @property
    def second_address(self) -> str:
        """Another address of the machine: the "second cloud" (same sandbox, own path)."""
        return self.address(2)

    def create(self) -> None:
        run("ip", "link", "add", self.bridge, "type", "bridge")
        for last in (1, 2):
            run("ip", "addr", "add", f"{self.address(last)}/24", "dev", self.bridge)
        run("ip", "link", "set", self.bridge, "up")
        Path(f"/proc/sys/net/ipv4/conf/{self.bridge}/route_localnet").write_text("1")
        run("nft", "-f", "-", stdin=self._host_rules())

    def _host_rules(self) -> str:
        return f"""table ip {self.tag} {{
  chain prerouting {{
    type nat hook prerouting priority -100;
    iifname "{self.bridge}" ip daddr {{ {self.gateway}, {self.second_address} }} \
tcp dport {{ {_ports(self.ports)} }} dnat to 127.0.0.1
  }}
  chain input {{
    type nat hook input priority 100;
    ip saddr {self.subnet} ip daddr 127.0.0.1 snat to 127.0.0.1
  }}
}}
"""

    def _namespace_rules(self) -> str:
        return f"""table ip mcd {{
  chain output {{
    type nat hook output priority -100;
    ip daddr 127.0.0.1 tcp dport {{ {_ports(self.ports)} }} dnat to {self.gateway}
  }}
  chain postrouting {{
    type nat hook postrouting priority 100;
    oifname "{DEVICE}" ip saddr 127.0.0.0/8 masquerade
  }}
  chain faults_out {{
    type filter hook output priority 0;
  }}
  chain faults_in {{
    type filter hook input priority 0;
  }}
}}
"""

    def add_host(self, name: str, last: int) -> Host:
        host = Host(self, name, self.address(last))
        veth = f"{self.tag}{name}"
        run("ip", "netns", "add", host.namespace)
        run(
            "ip",
            "link",
            "add",
            veth,
            "type",
            "veth",
            "peer",
            "name",
            DEVICE,
            "netns",
            host.namespace,
        )
        run("ip", "link", "set", veth, "master", self.bridge, "up")
        run("ip", "-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", DEVICE)
        run("ip", "-n", host.namespace, "link", "set", DEVICE, "up")
        run("ip", "-n", host.namespace, "link", "set", "lo", "up")
        for scope in ("all", DEVICE):
            run(*host.argv("sysctl", "-qw", f"net.ipv4.conf.{scope}.route_localnet=1"))
        host.nft(self._namespace_rules())
        self.hosts[name] = host
        return host

    def destroy(self) -> None:
        """Kill what runs in the namespaces, then remove them, the bridge and the rules."""
        for host in self.hosts.values():
            host.kill_all()
        deadline = time.monotonic() + 10
        while any(host.pids() for host in self.hosts.values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        for host in self.hosts.values():
            run("ip", "netns", "delete", host.namespace, check=False)
        run("ip", "link", "delete", self.bridge, check=False)
        run("nft", "delete", "table", "ip", self.tag, check=False)
