"""Passthrough overhead: Nova and Glance called directly versus through Multicloud's proxy.

    make bench-proxy          # or: .venv/bin/python -m bench.proxy [--rounds 2] [--modes ...]

Needs the OpenStack sandbox (``MULTICLOUD_SANDBOX_STATE``) and ``ab`` (apache2-utils). For
each serving mode it starts ``run.sh`` on a free loopback port (MULTICLOUD_WORKERS = CPU
count, default threads), registers the sandbox region, gets a token through
``.../identity/v3/auth/tokens`` and then, alternating direct and proxied runs so that
both see the same background load, measures:

* ``GET {compute}/servers/detail`` and ``GET {image}/v2/images``,
* sequentially (``ab -n SEQ -c 1``, at most SECONDS + 3 s: p50 from ab's CSV
  percentiles, in µs) and
* at concurrency 20 (``ab -t SECONDS -c 20``: requests per second),

plus the server's CPU per proxied request (utime+stime of its process tree) and the
number of "Connection pool is full" warnings in the server's log. The figures, the load
average before and after each run and the verdict against the targets go to
``bench/PROXY.md``; raw ab outputs to ``bench/results/proxy/``. Bounded: at most about
4 minutes with the defaults (ab runs are time-limited). Exit status 1 when a target is
missed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.integration.regions import region_body
from tests.sandbox import load_sandbox, make_session
from tests.servers import Service

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "bench" / "PROXY.md"
RESULTS = ROOT / "bench" / "results" / "proxy"
TICK = os.sysconf("SC_CLK_TCK")
POOL_WARNING = "Connection pool is full"
#: Targets of the passthrough (issue text): added p50 and throughput ratio at c=20.
MAX_ADDED_MS = 1.0
MIN_RATIO = 0.90
CONCURRENCY = 20


@dataclass
class Run:
    """One ab run: p50 (ms), requests/s, failures, server CPU per request (µs)."""

    p50_ms: float
    rps: float
    complete: int
    failed: int
    server_us: float | None
    load: str


@dataclass
class Pair:
    """Direct and proxied runs of one (mode, service, concurrency)."""

    direct: list[Run] = field(default_factory=list)
    proxied: list[Run] = field(default_factory=list)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def tree_cpu(pids: list[int]) -> float:
    """utime+stime (s) of the given processes."""
    total = 0.0
    for pid in pids:
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def ab(url: str, token: str, n: int, c: int, seconds: int, out: Path) -> dict:
    """Run ab once; its p50 (ms, from the CSV percentiles), req/s and failure counts."""
    csv = out.with_suffix(".csv")
    argv = ["ab", "-q", "-s", "60", "-e", str(csv), "-H", f"X-Auth-Token: {token}"]
    if seconds:
        argv += ["-t", str(seconds)]
    argv += ["-n", str(n), "-c", str(c), url]
    text = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120).stdout
    out.write_text(text)
    return {
        "rps": _grab(text, "Requests per second:", float),
        "complete": _grab(text, "Complete requests:", int),
        "failed": _grab(text, "Failed requests:", int) + _grab(text, "Non-2xx responses:", int),
        "p50_ms": _percentile(csv, 50),
    }


def _grab(text: str, label: str, cast):
    for line in text.splitlines():
        if line.startswith(label):
            return cast(line.split()[len(label.split())])
    return cast(0)


def _percentile(csv: Path, pct: int) -> float:
    if not csv.exists():  # ab writes no percentiles when no request completed
        return float("nan")
    for line in csv.read_text().splitlines()[1:]:
        at, value = line.split(",")
        if int(at) == pct:
            return float(value)
    return float("nan")


class Bench:
    """Everything one mode's runs need: server, URLs, tokens."""

    def __init__(self, mode: str, args, sandbox, tmp: Path):
        self.mode, self.args, self.sandbox = mode, args, sandbox
        self.svc = Service(
            tmp,
            WEB_FRAMEWORK=mode,
            MULTICLOUD_WORKERS=str(os.cpu_count() or 1),
            MULTICLOUD_LOG_LEVEL="WARNING",
        )
        self.svc.wait_ready()

    def setup(self, direct_token: str, direct_urls: dict[str, str]) -> None:
        self.direct_token, self.direct_urls = direct_token, direct_urls
        prefix = f"{self.svc.url}/api/multicloud/v1/bench/{self.sandbox.region}"
        requests.post(
            f"{prefix}/registry", json=region_body(self.sandbox), timeout=60
        ).raise_for_status()
        self._wait_discovered(prefix)
        self.token, catalog = self._proxy_token(prefix)
        self.proxied_urls = {
            "nova": _endpoint(catalog, "compute") + "/servers/detail",
            "glance": _endpoint(catalog, "image") + "/v2/images",
        }
        for url in self.proxied_urls.values():  # every worker learns the token
            for _ in range(10):
                requests.get(url, headers={"X-Auth-Token": self.token}, timeout=30)

    def _wait_discovered(self, prefix: str) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            state = requests.get(f"{prefix}/registry", timeout=30).json()
            if state["registry"]["status"] in ("done", "failed"):
                return
            time.sleep(0.5)

    def _proxy_token(self, prefix: str) -> tuple[str, list]:
        admin = self.sandbox.admin
        auth = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": admin.username,
                            "password": admin.password,
                            "domain": {"name": admin.user_domain_name},
                        }
                    },
                },
                "scope": {
                    "project": {
                        "name": admin.project_name,
                        "domain": {"name": admin.project_domain_name},
                    }
                },
            }
        }
        answer = requests.post(f"{prefix}/identity/v3/auth/tokens", json=auth, timeout=60)
        answer.raise_for_status()
        return answer.headers["X-Subject-Token"], answer.json()["token"]["catalog"]

    def measure(self, service: str, kind: str, c: int, tag: str) -> Run:
        url = (self.direct_urls if kind == "direct" else self.proxied_urls)[service]
        token = self.direct_token if kind == "direct" else self.token
        pids = [self.svc.proc.pid, *self.svc.workers()]
        before, load = tree_cpu(pids), load_average()
        seconds = self.args.seconds + 3 if c == 1 else self.args.seconds
        n = self.args.seq if c == 1 else 50000
        out = RESULTS / f"{self.mode}-{service}-{kind}-c{c}-{tag}.txt"
        result = ab(url, token, n, c, seconds, out)
        used = tree_cpu(pids) - before
        served = max(result["complete"], 1)
        return Run(
            p50_ms=result["p50_ms"],
            rps=result["rps"],
            complete=result["complete"],
            failed=result["failed"],
            server_us=round(1e6 * used / served) if kind == "proxied" else None,
            load=f"{load} → {load_average()}",
        )

    def pool_warnings(self) -> int:
        return self.svc.log.read_text(errors="replace").count(POOL_WARNING)

    def stop(self) -> None:
        self.svc.stop()


def _endpoint(catalog: list, service_type: str) -> str:
    for entry in catalog:
        if entry["type"] == service_type:
            for ep in entry["endpoints"]:
                if ep["interface"] == "public":
                    return ep["url"].rstrip("/")
    raise SystemExit(f"the proxied catalog has no public {service_type} endpoint")


def run_mode(mode: str, args, sandbox, direct, tmp: Path) -> dict:
    bench = Bench(mode, args, sandbox, tmp)
    try:
        bench.setup(*direct)
        pairs: dict[tuple[str, int], Pair] = {}
        for rnd in range(args.rounds):
            for service in ("nova", "glance"):
                for c in (1, CONCURRENCY):
                    pair = pairs.setdefault((service, c), Pair())
                    order = ("direct", "proxied") if rnd % 2 == 0 else ("proxied", "direct")
                    for kind in order:
                        getattr(pair, kind).append(bench.measure(service, kind, c, str(rnd)))
        return {"mode": mode, "pairs": pairs, "pool_warnings": bench.pool_warnings()}
    finally:
        bench.stop()


def direct_setup(sandbox) -> tuple[str, dict[str, str]]:
    session = make_session(sandbox, sandbox.admin)
    token = session.get_token()
    nova = session.get_endpoint(service_type="compute", interface="public").rstrip("/")
    glance = session.get_endpoint(service_type="image", interface="public").rstrip("/")
    return token, {"nova": f"{nova}/servers/detail", "glance": f"{glance}/v2/images"}


# --------------------------------------------------------------------------- report


def _med(runs: list[Run], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in runs)


def rows(result: dict) -> list[dict]:
    found = []
    for service in ("nova", "glance"):
        seq, par = result["pairs"][(service, 1)], result["pairs"][(service, CONCURRENCY)]
        added = _med(seq.proxied, "p50_ms") - _med(seq.direct, "p50_ms")
        ratio = _med(par.proxied, "rps") / max(_med(par.direct, "rps"), 1e-9)
        # NOTE: a run in which nothing completed (the cloud stalled) counts as failed too.
        failed = sum(r.failed + (not r.complete) for p in (seq, par) for r in p.direct + p.proxied)
        found.append(
            {
                "mode": result["mode"],
                "service": service,
                "direct_p50": _med(seq.direct, "p50_ms"),
                "proxied_p50": _med(seq.proxied, "p50_ms"),
                "added": added,
                "cpu_seq": _med(seq.proxied, "server_us"),
                "direct_rps": _med(par.direct, "rps"),
                "proxied_rps": _med(par.proxied, "rps"),
                "ratio": ratio,
                "cpu_par": _med(par.proxied, "server_us"),
                "failed": failed,
                "warnings": result["pool_warnings"],
                "ok": added <= MAX_ADDED_MS
                and ratio >= MIN_RATIO
                and not failed
                and not result["pool_warnings"],
            }
        )
    return found


def runs_table(results: list[dict]) -> list[str]:
    lines = [
        "| mode | service | c | kind | round | p50 ms | req/s | complete | failed "
        "| server µs/req | load avg before → after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for (service, c), pair in result["pairs"].items():
            for kind in ("direct", "proxied"):
                for i, r in enumerate(getattr(pair, kind)):
                    cpu = "" if r.server_us is None else f"{r.server_us:,}"
                    lines.append(
                        f"| {result['mode']} | {service} | {c} | {kind} | {i} | {r.p50_ms:.2f} "
                        f"| {r.rps:,.1f} | {r.complete} | {r.failed} | {cpu} | {r.load} |"
                    )
    return lines


def report(results: list[dict], args, started: str, load_before: str) -> tuple[str, bool]:
    summary = [r for result in results for r in rows(result)]
    lines = [
        "# Passthrough overhead: direct versus through Multicloud",
        "",
        f"Generated by `bench/proxy.py` (`make bench-proxy`) at {started}; "
        f"{args.rounds} rounds, {args.seq} sequential requests (at most {args.seconds + 3} s) "
        f"and {args.seconds} s at "
        f"concurrency {CONCURRENCY} per run, direct and proxied runs alternating. "
        f"{os.cpu_count()} CPUs shared by ab, Multicloud and the sandbox's Nova and Glance "
        f"(and other users of the machine). Load average before: {load_before}; "
        f"after: {load_average()}.",
        "",
        f"Targets: ≤ {MAX_ADDED_MS:g} ms added at p50 sequentially, ≥ {MIN_RATIO:.0%} of direct "
        f"throughput at concurrency {CONCURRENCY}, no failed requests, no "
        f'"{POOL_WARNING}" warnings in the server log.',
        "",
        "| mode | service | p50 direct | p50 proxied | added | server CPU/req (c=1) "
        f"| req/s direct (c={CONCURRENCY}) | req/s proxied | ratio | server CPU/req "
        f"(c={CONCURRENCY}) | failed | pool warnings | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary:
        lines.append(
            f"| {r['mode']} | {r['service']} | {r['direct_p50']:.2f} ms | "
            f"{r['proxied_p50']:.2f} ms | {r['added']:+.2f} ms | {r['cpu_seq']:,.0f} µs | "
            f"{r['direct_rps']:,.1f} | {r['proxied_rps']:,.1f} | {r['ratio']:.0%} | "
            f"{r['cpu_par']:,.0f} µs | {r['failed']} | {r['warnings']} | "
            f"{'met' if r['ok'] else 'MISSED'} |"
        )
    lines += ["", "Medians over the rounds. Every run:", "", *runs_table(results), ""]
    notes = ROOT / "bench" / "PROXY-NOTES.md"
    if notes.exists():
        lines += [notes.read_text().rstrip(), ""]
    return "\n".join(lines), all(r["ok"] for r in summary)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2, choices=range(1, 6), metavar="1..5")
    parser.add_argument("--seq", type=int, default=200, choices=range(10, 2001), metavar="N")
    parser.add_argument("--seconds", type=int, default=5, choices=range(1, 31), metavar="S")
    parser.add_argument("--modes", default="django,pecan")
    parser.add_argument("--report", default=str(REPORT))
    args = parser.parse_args()
    # NOTE: SIGTERM (timeout, Ctrl-C from make) unwinds, so the servers started here are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_before = load_average()
    sandbox = load_sandbox()
    direct = direct_setup(sandbox)
    with tempfile.TemporaryDirectory(prefix="mc-bench-proxy-") as tmp:
        results = [run_mode(m, args, sandbox, direct, Path(tmp)) for m in args.modes.split(",")]
    text, ok = report(results, args, started, load_before)
    Path(args.report).write_text(text)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
