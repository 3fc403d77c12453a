"""HAProxy (Debian's package) in front of the API replicas, and its runtime API.

The configuration is what an operator would run (bench/DEPLOYMENT.md explains each
choice):

* health checks on ``/api/multicloud/v0/healthcheck`` every second (half a second
  while a server changes state), down after 2 failures, up after 2 successes;
* retries (3) on another server (``option redispatch 1``) when a connection fails or
  a server closes without answering, for idempotent methods only (``disable-l7-retry``
  for the others: a POST that reached a replica is never sent twice);
* fail-open: when no replica passes the health check (the shared database is down, so
  every one fails it), requests still go to every replica that accepts connections,
  which answers its own 503 JSON (or 200 where the database is not needed) instead of
  HAProxy's HTML page;
* ``maxconn`` per server: what a replica serves at once (a django replica: workers x
  threads; more would wait in its listen backlog behind slow requests): beyond it HAProxy
  sends requests to a replica with room, or queues them;
* the server that answered in ``X-Served-By`` (for the figures), JSON error pages for
  what HAProxy answers itself.
"""

from __future__ import annotations

import csv
import io
import socket
import subprocess
from pathlib import Path

from tests.deployment.network import Host, ensure_command

HEALTH_PATH = "/api/multicloud/v0/healthcheck"
#: Check timing (seconds): the bound a dead replica stays in rotation is about
#: INTER + (FALL - 1) * FASTINTER + CHECK_TIMEOUT.
INTER, FASTINTER, FALL, RISE, CHECK_TIMEOUT = 1.0, 0.5, 2, 2, 1.0
PORT = 8080
IDEMPOTENT = "METH_GET METH_HEAD METH_OPTIONS METH_PUT METH_DELETE"


def _json_error(status: int, reason: str, message: str) -> str:
    body = f'{{"error": "{message}", "code": {status}}}\n'
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n"
        f"{body}"
    )


def _ms(seconds: float) -> str:
    return f"{round(seconds * 1000)}ms"


def render(servers: dict[str, tuple[str, int]], port: int, stats: Path, errors: Path) -> str:
    """haproxy.cfg for ``servers`` (name → (address, most requests at once), each listening
    on ``port``)."""
    errors.mkdir(parents=True, exist_ok=True)
    pages = {
        502: ("Bad Gateway", "load balancer: a replica answered badly"),
        503: ("Service Unavailable", "load balancer: no replica is available"),
        504: ("Gateway Timeout", "load balancer: the replica did not answer in time"),
    }
    for status, (reason, message) in pages.items():
        (errors / f"{status}.http").write_text(_json_error(status, reason, message))
    check = (
        f"check inter {_ms(INTER)} fastinter {_ms(FASTINTER)} downinter {_ms(INTER)} "
        f"fall {FALL} rise {RISE}"
    )
    healthy = "\n".join(
        f"  server {n} {a}:{port} maxconn {limit} {check}" for n, (a, limit) in servers.items()
    )
    alive = "\n".join(
        f"  server {n} {a}:{port} maxconn {limit} check inter {_ms(INTER)}"
        for n, (a, limit) in servers.items()
    )
    error_files = "\n".join(f"  errorfile {s} {errors}/{s}.http" for s in pages)
    return f"""global
  maxconn 4096
  stats socket {stats} mode 600 level admin
  log stdout format raw local0 info

defaults
  mode http
  log global
  option httplog
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  timeout check {_ms(CHECK_TIMEOUT)}
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response junk-response
{error_files}

frontend api
  bind :{PORT}
  use_backend replicas_alive if {{ nbsrv(replicas) eq 0 }}
  default_backend replicas

backend replicas
  balance roundrobin
  option httpchk GET {HEALTH_PATH}
  http-check expect status 200
  http-request disable-l7-retry if !{IDEMPOTENT.replace(" ", " !")}
  http-response set-header X-Served-By %s
{healthy}

backend replicas_alive
  balance roundrobin
  http-request disable-l7-retry if !{IDEMPOTENT.replace(" ", " !")}
  http-response set-header X-Served-By %s
{alive}
"""


class HAProxy:
    """One haproxy process in its own namespace."""

    def __init__(self, host: Host, servers: dict[str, tuple[str, int]], port: int, workdir: Path):
        self.host = host
        self.binary = ensure_command("haproxy", "haproxy")
        self.stats = workdir / "haproxy.sock"
        self.config = workdir / "haproxy.cfg"
        self.log = workdir / "haproxy.log"
        self.config.write_text(render(servers, port, self.stats, workdir / "errors"))
        self.url = f"http://{host.address}:{PORT}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        check = subprocess.run(
            [self.binary, "-c", "-f", str(self.config)], capture_output=True, text=True
        )
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refuses its configuration: {check.stdout}{check.stderr}")
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.host.argv(self.binary, "-db", "-f", str(self.config)),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def command(self, line: str) -> str:
        """One runtime API command (stats socket); its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.stats))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def stat(self) -> list[dict[str, str]]:
        """``show stat``: one row per frontend, backend and server."""
        return list(csv.DictReader(io.StringIO(self.command("show stat").lstrip("# "))))

    def servers(self, backend: str = "replicas") -> dict[str, dict[str, str]]:
        """The backend's servers: name → fields (status, scur, ...)."""
        return {
            row["svname"]: row
            for row in self.stat()
            if row["pxname"] == backend and row["svname"] not in ("FRONTEND", "BACKEND")
        }

    def retries(self) -> tuple[int, int]:
        """Requests retried, and redispatched to another server, over both backends."""
        rows = [row for row in self.stat() if row["svname"] == "BACKEND"]
        return sum(int(r["wretr"] or 0) for r in rows), sum(int(r["wredis"] or 0) for r in rows)

    def status(self, server: str) -> str:
        """UP, DOWN, "UP 1/2" (going down), "DOWN 1/2" (coming up), MAINT, ...; "" while
        HAProxy is not answering yet."""
        try:
            return self.servers().get(server, {}).get("status", "")
        except OSError:
            return ""
