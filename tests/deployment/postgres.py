"""The deployment's own PostgreSQL: a private cluster in its own namespace ("db" host).

Why not a database on the machine's server: that server is shared (the OpenStack
sandboxes alone held 89 of its 100 connections when this was written), so the
replicas ran into "too many clients already"; and only a server of our own may be
restarted. The cluster is the machine's PostgreSQL installation (Debian's package,
installed when missing), initialised in ``/tmp/mcd<pid>-pg`` (the postgres user
cannot reach pytest's temporary directories), with ``fsync=off``, trusting the
deployment's subnet only, listening on the db host's address: replicas reach it over
the bridge like any other host.
"""

from __future__ import annotations

import contextlib
import glob
import shutil
import subprocess
import time
from pathlib import Path

from tests.deployment import network

PORT = 5432
DATABASE = "multicloud"
#: Enough for the replicas, workers and listeners of the harness (it reports its peak).
MAX_CONNECTIONS = 300


def binaries() -> Path:
    """The newest installed PostgreSQL's bin directory (``postgresql`` installed if none)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        network.ensure_command("pg_ctlcluster", "postgresql")
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(max(found, key=lambda p: [int(x) for x in Path(p).parts[-3].split(".")])).parent


def _as_postgres(*argv: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv]


def remove_stale_clusters() -> list[str]:
    """The data directories of crashed runs (their servers died with their namespace)."""
    removed = []
    for path in glob.glob(f"/tmp/{network.PREFIX}*-pg"):
        if network.stale(Path(path).name.removesuffix("-pg")):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


class PrivatePostgres:
    """initdb, start, stop (a real restart), in the host's namespace."""

    def __init__(self, host: network.Host, tag: str):
        self.host = host
        self.bin = binaries()
        self.root = Path(f"/tmp/{tag}-pg")
        self.data = self.root / "data"
        self.log = self.root / "postgresql.log"
        self.url = f"postgresql://postgres@{host.address}:{PORT}/{DATABASE}"

    def create(self) -> None:
        self.root.mkdir(mode=0o700)
        shutil.chown(self.root, "postgres", "postgres")
        network.run(
            *_as_postgres(
                str(self.bin / "initdb"), "-A", "trust", "-U", "postgres", "-D", str(self.data)
            )
        )
        subnet = self.host.network.subnet
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {subnet} trust\n")
        self.start()
        network.run(*self.host.argv("psql", self.admin_url, "-qc", f'CREATE DATABASE "{DATABASE}"'))

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@{self.host.address}:{PORT}/postgres"

    def start(self) -> None:
        options = (
            f"-p {PORT} -c listen_addresses={self.host.address} -k {self.root} -c fsync=off "
            f"-c full_page_writes=off -c max_connections={MAX_CONNECTIONS}"
        )
        network.run(
            *self.host.argv(
                *_as_postgres(
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log),
                    "-w",
                    "-t",
                    "120",
                    "-o",
                    options,
                    "start",
                )
            )
        )

    def stop(self, mode: str = "fast") -> None:
        """``fast``: sessions are cut, the server shuts down (what a restart does)."""
        network.run(
            *self.host.argv(
                *_as_postgres(
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-m",
                    mode,
                    "-w",
                    "-t",
                    "60",
                    "stop",
                )
            )
        )

    def running(self) -> bool:
        done = subprocess.run(
            self.host.argv(*_as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "status")),
            capture_output=True,
        )
        return done.returncode == 0

    def query(self, sql: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url, connect_timeout=10) as conn:
            return list(conn.execute(sql))

    def connections(self) -> int:
        """Client sessions on the deployment's database now."""
        rows = self.query(
            f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{DATABASE}' "
            "AND pid <> pg_backend_pid()"
        )
        return int(rows[0][0])

    def destroy(self) -> None:
        with contextlib.suppress(network.NetworkError):
            if self.running():
                self.stop("immediate")
        deadline = time.monotonic() + 10
        while self.host.pids() and time.monotonic() < deadline:
            time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)
