"""Region lookups: server CPU of region-scoped answers next to ``vim_types``, both modes.

    make bench-regions       # or: .venv/bin/python -m bench.regions [--baseline REF] ...

Needs the OpenStack sandbox (``MULTICLOUD_SANDBOX_STATE``; the known region is the
sandbox, registered through the API) and ``ab``. For each serving mode it starts
``run.sh`` on a free loopback port (MULTICLOUD_WORKERS = CPU count), registers the
sandbox region, waits for its discovery, and then runs ``ab -n N -c 10`` (at most
``--seconds`` each) on, in turn:

* ``GET /api/multicloud/v0/vim_types`` (no region: the yardstick),
* ``GET .../v0/nobody_Nowhere/registry`` (an unknown region: 404),
* ``GET .../v1/bench/RegionOne/registry`` (the known region),
* ``GET .../v1/bench/RegionOne/tenants`` (the known region; asks the sandbox's Keystone),

measuring the server process tree's CPU (utime+stime) per request and requests per
second; rounds alternate the order. With ``--baseline REF`` (e.g. ``main``) the same
runs are made against that commit of the repository (``git archive`` into a temporary
directory, same virtualenv), side by side. Writes ``bench/REGIONS.md``; raw ab
output in ``bench/results/regions/``. Target: the unknown and the known region's
registry answers cost at most 2× ``vim_types``' server CPU per request.
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests.integration.regions import region_body
from tests.sandbox import load_sandbox

ROOT = Path(__file__).resolve().parents[1]


REPORT = ROOT / "bench" / "REGIONS.md"
RESULTS = ROOT / "bench" / "results" / "regions"
TICK = os.sysconf("SC_CLK_TCK")
MAX_RATIO = 2.0
PATHS = {
    "vim_types": "/api/multicloud/v0/vim_types",
    "registry, unknown region": "/api/multicloud/v0/nobody_Nowhere/registry",
    "registry, known region": "/api/multicloud/v1/bench/{region}/registry",
    "tenants, known region": "/api/multicloud/v1/bench/{region}/tenants",
}
TARGETED = ("registry, unknown region", "registry, known region")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stat(pid: int) -> tuple[int, float] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def tree_cpu(root: int) -> float:
    """utime+stime (s) of ``root`` and its descendants."""
    stats = {int(e): s for e in os.listdir("/proc") if e.isdigit() and (s := _stat(int(e)))}
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
            todo += [child for child, (ppid, _) in stats.items() if ppid == pid]
    return total


class Server:
    """run.sh of one checkout in one mode, on a free port, its own data directory."""

    def __init__(self, checkout: Path, mode: str, tmp: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MULTICLOUD_", "DATA"))}
        env.update(
            WEB_FRAMEWORK=mode,
            MULTICLOUD_HOST="127.0.0.1",
            MULTICLOUD_PORT=str(self.port),
            MULTICLOUD_WORKERS=str(os.cpu_count() or 1),
            MULTICLOUD_DATA_DIR=str(tmp / f"data-{mode}-{self.port}"),
            MULTICLOUD_LOG_LEVEL="WARNING",
            MULTICLOUD_PYTHON=sys.executable,
            # NOTE: root stays root here (a benchmark of this machine's checkout).
            MULTICLOUD_RUN_AS="root",
        )
        self.log = tmp / f"server-{mode}-{self.port}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [str(checkout / "run.sh")], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"run.sh exited: {self.log.read_text()[-2000:]}")
            try:
                requests.get(self.url + PATHS["vim_types"], timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.3)
        self.stop()
        raise SystemExit(f"run.sh did not answer: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def register(server: Server, sandbox) -> None:
    prefix = f"{server.url}/api/multicloud/v1/bench/{sandbox.region}"
    requests.post(f"{prefix}/registry", json=region_body(sandbox), timeout=60).raise_for_status()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if requests.get(f"{prefix}/registry", timeout=30).json()["registry"]["status"] in (
            "done",
            "failed",
        ):
            return
        time.sleep(0.5)


def ab(server: Server, path: str, n: int, seconds: int, out: Path) -> dict:
    before, load = tree_cpu(server.proc.pid), load_average()
    argv = ["ab", "-q", "-s", "60", "-t", str(seconds), "-n", str(n), "-c", "10"]
    argv.append(server.url + path)
    text = subprocess.run(argv, capture_output=True, text=True, timeout=300).stdout
    used = tree_cpu(server.proc.pid) - before
    out.write_text(text)
    found = {}
    for line in text.splitlines():
        if line.startswith("Requests per second:"):
            found["rps"] = float(line.split()[3])
        elif line.startswith("Complete requests:"):
            found["complete"] = int(line.split()[2])
        elif line.startswith("Non-2xx responses:"):
            found["non2xx"] = int(line.split()[2])
    served = max(found.get("complete", 0), 1)
    return {
        "rps": found.get("rps", 0.0),
        "complete": found.get("complete", 0),
        "non2xx": found.get("non2xx", 0),
        "us": 1e6 * used / served,
        "load": f"{load} → {load_average()}",
    }


def run(label: str, checkout: Path, mode: str, args, sandbox, tmp: Path) -> dict:
    server = Server(checkout, mode, tmp)
    try:
        register(server, sandbox)
        names = list(PATHS)
        runs: dict[str, list[dict]] = {name: [] for name in names}
        for rnd in range(args.rounds):
            for name in names if rnd % 2 == 0 else reversed(names):
                path = PATHS[name].format(region=sandbox.region)
                n = args.n if "tenants" not in name else max(args.n // 10, 50)
                slug = name.replace(", ", "-").replace(" ", "_")
                out = RESULTS / f"{label}-{mode}-{slug}-{rnd}.txt"
                runs[name].append(ab(server, path, n, args.seconds, out))
        return {"label": label, "mode": mode, "runs": runs}
    finally:
        server.stop()


def baseline_checkout(ref: str, tmp: Path) -> Path:
    target = tmp / "baseline"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True)
    if archive.returncode != 0:
        raise SystemExit(f"git archive {ref} failed: {archive.stderr.decode()}")
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def report(results: list[dict], args, started: str, load_before: str) -> tuple[str, bool]:
    lines = [
        "# Region lookups: server CPU per request next to vim_types",
        "",
        f"Generated by `bench/regions.py` (`make bench-regions`) at {started}: `ab -n {args.n} "
        f"-c 10` per path ({max(args.n // 10, 50)} for tenants), each run stopped after "
        f"{args.seconds} s, {args.rounds} rounds in "
        f"alternating order, medians. Server CPU = utime+stime of the run.sh process tree "
        f"(MULTICLOUD_WORKERS={os.cpu_count()}) during the run / requests. Load average "
        f"before: {load_before}; after: {load_average()}.",
        "",
        f"Target: registry answers for an unknown and a known region ≤ {MAX_RATIO:g}× "
        "vim_types' CPU per request.",
        "",
        "| build | mode | path | server CPU/req | × vim_types | req/s | non-2xx | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ok = True
    for result in results:
        base = statistics.median(r["us"] for r in result["runs"]["vim_types"])
        for name, runs in result["runs"].items():
            us = statistics.median(r["us"] for r in runs)
            ratio = us / max(base, 1e-9)
            verdict = ""
            if name in TARGETED:
                met = ratio <= MAX_RATIO
                verdict = "met" if met else "MISSED"
                ok = ok and (met or result["label"] != "this")
            lines.append(
                f"| {result['label']} | {result['mode']} | {name} | {us:,.0f} µs | "
                f"{ratio:.2f} | {statistics.median(r['rps'] for r in runs):,.0f} | "
                f"{sum(r['non2xx'] for r in runs)} | {verdict} |"
            )
    lines += ["", "Every run (load average before → after):", ""]
    lines += ["| build | mode | path | round | server CPU/req | req/s | load |", "|---|" * 7]
    lines[-1] = "|---|---|---|---|---|---|---|"
    for result in results:
        for name, runs in result["runs"].items():
            for i, r in enumerate(runs):
                lines.append(
                    f"| {result['label']} | {result['mode']} | {name} | {i} | {r['us']:,.0f} µs "
                    f"| {r['rps']:,.0f} | {r['load']} |"
                )
    notes = ROOT / "bench" / "REGIONS-NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text().rstrip()]
    return "\n".join(lines) + "\n", ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, choices=range(100, 50001), metavar="N")
    parser.add_argument("--rounds", type=int, default=2, choices=range(1, 6), metavar="1..5")
    parser.add_argument("--seconds", type=int, default=6, choices=range(1, 61), metavar="S")
    parser.add_argument("--modes", default="django,pecan")
    parser.add_argument("--baseline", default="", help="a git ref to measure side by side")
    parser.add_argument("--report", default=str(REPORT))
    args = parser.parse_args()
    # NOTE: SIGTERM (timeout, Ctrl-C from make) unwinds, so the servers started here are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_before = load_average()
    sandbox = load_sandbox()
    results = []
    with tempfile.TemporaryDirectory(prefix="mc-bench-regions-") as name:
        tmp = Path(name)
        builds = [("this", ROOT)]
        if args.baseline:
            builds.append((args.baseline, baseline_checkout(args.baseline, tmp)))
        for mode in args.modes.split(","):
            for label, checkout in builds:
                results.append(run(label, checkout, mode, args, sandbox, tmp))
    text, ok = report(results, args, started, load_before)
    Path(args.report).write_text(text)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
