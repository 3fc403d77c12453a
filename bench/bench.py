"""HTTP benchmark of both serving modes; writes bench/REPORT.md.

Run by ``bench/run.sh`` (``make bench``) with the project venv. For each mode
(django, pecan) it starts ``run.sh`` on a free loopback port with
MULTICLOUD_WORKERS = CPU count and otherwise default settings, then runs, one
after the other against ``GET /api/multicloud/v0/vim_types``:

* ``ab -n 100 -c 1`` (first requests after start: includes warm-up),
  ``ab -n 10000 -c 100`` and ``ab -n 100000 -c 1000`` (no ``-r``: a reset or
  refused connection is a failure and ab stops, which we report);
* ``wrk -t2 -c100 -d15s --latency`` (keep-alive), sampling ``ss -tnp`` to see
  which worker holds which connection;
* ``py-spy record`` on one worker under a separate wrk load (not timed).

For every run it records the server process tree's CPU (utime+stime from
/proc/<pid>/stat, supervisor/master + workers) before and after, per worker,
and the client's own CPU (rusage of ab/wrk). The server is stopped with
SIGTERM and the harness checks that no process of its tree is left.

Environment knobs (all optional): BENCH_MODES="django pecan",
BENCH_WRK_SECONDS=15, BENCH_ACCESS_LOG=1 (extra reduced runs with access logs
on), BENCH_PYSPY=1, BENCH_RESULTS=bench/results.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from multicloud.conf import somaxconn

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("BENCH_RESULTS", ROOT / "bench" / "results"))
REPORT = ROOT / "bench" / "REPORT.md"
PATH = "/api/multicloud/v0/vim_types"
CPUS = os.cpu_count() or 1
TICK = os.sysconf("SC_CLK_TCK")
WRK_SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", "15"))
MODES = os.environ.get("BENCH_MODES", "django pecan").split()
AB_RUNS = [(100, 1), (10_000, 100), (100_000, 1000)]
TARGETS = {  # mode -> minimum req/s of ab at c=100
    "django": 5000,
    "pecan": 4000,
}


# --------------------------------------------------------------- processes
def proc_stat(pid: int) -> tuple[int, float] | None:
    """(ppid, utime+stime in seconds) of one process, None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def tree(root: int) -> dict[int, float]:
    """CPU seconds of ``root`` and all its descendants, by pid."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st:
                stats[int(entry)] = st
    result, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            result[pid] = stats[pid][1]
            todo += [child for child, (ppid, _) in stats.items() if ppid == pid]
    return result


def busy_seconds() -> tuple[float, float]:
    """(CPU seconds busy on all cores, wall clock) now, from /proc/stat.

    NOTE: irq/softirq time is left out: loopback TCP is processed in softirq
    context, which is charged to no process, so our own traffic would count
    as "other" (about half a core under ab -c 100).
    """
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, _irq, _softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + steal) / TICK - kernel_threads(), time.monotonic()


def kernel_threads() -> float:
    """CPU seconds of kernel threads (ksoftirqd, kworker: where much of loopback TCP
    is processed for our own traffic), so they do not count as other load."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st and (st[0] == 2 or entry == "2"):
                total += st[1]
    return total


def foreign_cores(start: tuple[float, float], ours: float) -> float:
    """Average cores used by processes other than the server and the client."""
    busy, now = busy_seconds()
    return round(max(busy - start[0] - ours, 0.0) / max(now - start[1], 1e-3), 2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_client(argv: list[str], out: Path, timeout: float = 600) -> tuple[str, float, int]:
    """Run ab/wrk; (stdout+stderr, its own CPU seconds, exit code)."""
    with open(out, "w") as handle:
        proc = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return out.read_text(), usage.ru_utime + usage.ru_stime, proc.returncode


@dataclass
class Server:
    mode: str
    workdir: Path
    access_log: bool = False
    port: int = 0
    proc: subprocess.Popen | None = None
    pids_seen: set[int] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def start(self) -> None:
        self.port = free_port()
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("MULTICLOUD_", "DATABASE_"))
        }
        env.update(
            WEB_FRAMEWORK=self.mode,
            MULTICLOUD_HOST="127.0.0.1",
            MULTICLOUD_PORT=str(self.port),
            MULTICLOUD_WORKERS=str(CPUS),
            MULTICLOUD_DATA_DIR=str(self.workdir / "data"),
            MULTICLOUD_ACCESS_LOG="true" if self.access_log else "false",
            # NOTE: root stays root here (a benchmark of this machine's checkout).
            MULTICLOUD_RUN_AS="root",
        )
        self.log = self.workdir / "server.log"
        self.proc = subprocess.Popen(
            [str(ROOT / "run.sh")],
            env=env,
            cwd=ROOT,
            stdout=open(self.log, "w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.mode} server exited; see {self.log}")
            if len(self.workers()) >= CPUS and self._answers():
                self.pids_seen |= set(tree(self.proc.pid))
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.mode} server did not come up; see {self.log}")

    def _answers(self) -> bool:
        # NOTE: a probe per worker is impossible to aim; one 200 proves the app loads.
        try:
            with urllib.request.urlopen(self.url, timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    def workers(self) -> list[int]:
        pids = tree(self.proc.pid)
        pids.pop(self.proc.pid, None)
        return sorted(pids)

    def cpu(self) -> dict[int, float]:
        snapshot = tree(self.proc.pid)
        self.pids_seen |= set(snapshot)
        return snapshot

    def listen_backlogs(self) -> list[str]:
        out = subprocess.run(
            ["ss", "-Hltn", f"sport = :{self.port}"], capture_output=True, text=True
        ).stdout
        return [" ".join(line.split()) for line in out.splitlines() if line.strip()]

    def stop(self) -> dict:
        """SIGTERM, wait, then verify that nothing of the tree is left."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        forced = False
        try:
            code = self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            forced = True
            self.proc.kill()
            code = self.proc.wait()
        time.sleep(0.5)
        left = [pid for pid in self.pids_seen if proc_stat(pid) is not None]
        for pid in left:  # only pids of our own tree, recorded while it ran
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return {
            "exit": code,
            "seconds": round(time.monotonic() - started, 2),
            "forced": forced,
            "left_running": left,
        }


# ---------------------------------------------------------------- parsing
def parse_ab(text: str) -> dict:
    def grab(pattern, cast=float, default=None):
        m = re.search(pattern, text, re.M)
        return cast(m.group(1)) if m else default

    pct = dict(re.findall(r"^\s+(\d+)%\s+(\d+)", text, re.M))
    return {
        "complete": grab(r"^Complete requests:\s+(\d+)", int, 0),
        "failed": grab(r"^Failed requests:\s+(\d+)", int),
        "failed_detail": grab(r"^\s+\((Connect: .*)\)", str, ""),
        "non2xx": grab(r"^Non-2xx responses:\s+(\d+)", int, 0),
        "rps": grab(r"^Requests per second:\s+([\d.]+)"),
        "p50_ms": float(pct["50"]) if "50" in pct else None,
        "p99_ms": float(pct["99"]) if "99" in pct else None,
        "max_ms": float(pct["100"]) if "100" in pct else None,
        "aborted": grab(r"^(apr_\w+\(\): .*)$", str, ""),
    }


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(text: str) -> dict:
    found = re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\b", text, re.M)
    lat = {p: _ms(v, u) for p, v, u in found}
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    return {
        "requests": int(m.group(1)) if m else 0,
        "rps": float(rps.group(1)) if rps else None,
        "p50_ms": lat.get("50"),
        "p99_ms": lat.get("99"),
        "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0,
        "socket_errors_detail": errors.group(0) if errors else "",
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
    }


# --------------------------------------------------------------- measuring
def cpu_delta(before: dict[int, float], after: dict[int, float]) -> dict[int, float]:
    return {pid: after[pid] - before.get(pid, 0.0) for pid in after}


def split(delta: dict[int, float], workers: list[int]) -> list[float]:
    """Share (%) of the workers' CPU per worker, in worker order."""
    total = sum(delta.get(p, 0.0) for p in workers) or 1.0
    return [round(100 * delta.get(p, 0.0) / total, 1) for p in workers]


def ab_run(server: Server, n: int, c: int, out_dir: Path) -> dict:
    before, machine_before = server.cpu(), busy_seconds()
    text, client_cpu, code = run_client(
        ["ab", "-q", "-n", str(n), "-c", str(c), "-s", "60", server.url],
        out_dir / f"ab-n{n}-c{c}.txt",
    )
    delta = cpu_delta(before, server.cpu())
    other = foreign_cores(machine_before, sum(delta.values()) + client_cpu)
    result = parse_ab(text)
    workers = server.workers()
    served = max(result["complete"], 1)
    result.update(
        tool="ab",
        label=f"ab -n {n} -c {c}",
        n=n,
        c=c,
        exit=code,
        server_cpu_s=round(sum(delta.values()), 3),
        server_us_per_req=round(1e6 * sum(delta.values()) / served, 1),
        client_cpu_s=round(client_cpu, 3),
        other_cores=other,
        worker_cpu_split=split(delta, workers),
    )
    if result["failed"] is None:  # ab gave up before its summary
        result["failed"] = n - result["complete"] if result["complete"] else n
    return result


def sample_connections(port: int) -> collections.Counter:
    out = subprocess.run(
        ["ss", "-Htnp", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
    ).stdout
    owners: collections.Counter = collections.Counter()
    for line in out.splitlines():
        m = re.search(r"pid=(\d+)", line)
        owners[int(m.group(1)) if m else 0] += 1  # 0: accepted by the kernel, not yet by a worker
    return owners


def wrk_run(server: Server, out_dir: Path, seconds: int = WRK_SECONDS, tag: str = "") -> dict:
    before, machine_before = server.cpu(), busy_seconds()
    argv = ["wrk", "-t2", "-c100", f"-d{seconds}s", "--latency", server.url]
    out = out_dir / f"wrk{tag}.txt"
    handle = open(out, "w")
    proc = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT)
    samples = []
    time.sleep(1.0)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        samples.append(sample_connections(server.port))
        time.sleep(0.5)
    handle.close()
    delta = cpu_delta(before, server.cpu())
    client_cpu = usage.ru_utime + usage.ru_stime
    other = foreign_cores(machine_before, sum(delta.values()) + client_cpu)
    result = parse_wrk(out.read_text())
    workers = server.workers()
    served = max(result["requests"], 1)
    samples = [s for s in samples if s]
    conns = {p: round(sum(s.get(p, 0) for s in samples) / max(len(samples), 1), 1) for p in workers}
    queued = round(sum(s.get(0, 0) for s in samples) / max(len(samples), 1), 1)
    result.update(
        tool="wrk",
        label=f"wrk -t2 -c100 -d{seconds}s (keep-alive)",
        n=result["requests"],
        c=100,
        exit=os.waitstatus_to_exitcode(status),
        server_cpu_s=round(sum(delta.values()), 3),
        server_us_per_req=round(1e6 * sum(delta.values()) / served, 1),
        client_cpu_s=round(client_cpu, 3),
        other_cores=other,
        worker_cpu_split=split(delta, workers),
        worker_connections=[conns[p] for p in workers],
        unaccepted_connections=queued,
        samples=len(samples),
    )
    with open(out_dir / f"ss-samples{tag}.json", "w") as f:
        json.dump([{str(k): v for k, v in s.items()} for s in samples], f)
    return result


def pyspy(server: Server, out_dir: Path) -> dict:
    """py-spy record one worker while wrk loads the server (not a timed run)."""
    spy = Path(sys.executable).with_name("py-spy")
    worker = server.workers()[0]
    raw = out_dir / "py-spy.txt"
    load = subprocess.Popen(
        ["wrk", "-t2", "-c100", "-d14s", server.url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)
    rec = subprocess.run(
        [
            str(spy),
            "record",
            "--pid",
            str(worker),
            "--duration",
            "10",
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(raw),
            "--nonblocking",
        ],
        capture_output=True,
        text=True,
    )
    load.wait()
    (out_dir / "py-spy.log").write_text(rec.stdout + rec.stderr)
    if rec.returncode != 0 or not raw.exists():
        return {"error": (rec.stderr or rec.stdout).strip()[-500:]}
    return summarise_stacks(raw.read_text(), worker)


def summarise_stacks(text: str, worker: int) -> dict:
    total = 0
    self_time: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()
    needles = {"getargspec": 0, "inspect.py": 0, "pecan/routing.py": 0, "pecan/util.py": 0}
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        count = int(count)
        total += count
        frames = [_short(f) for f in stack.split(";") if f]
        if frames:
            self_time[frames[-1]] += count
        # inclusive time per function (line numbers dropped, counted once per stack)
        for func in {re.sub(r":\d+\)$", ")", f) for f in frames}:
            inclusive[func] += count
        for needle in needles:
            if needle in stack:
                needles[needle] += count
    pct = lambda n: round(100 * n / max(total, 1), 1)  # noqa: E731
    return {
        "worker": worker,
        "samples": total,
        "top_self": [(f, pct(n)) for f, n in self_time.most_common(15)],
        "top_inclusive": [(f, pct(n)) for f, n in inclusive.most_common(40)],
        "needles": {k: pct(v) for k, v in needles.items()},
    }


def _short(frame: str) -> str:
    # "func (/long/path/site-packages/pkg/mod.py:123)" -> "func (pkg/mod.py:123)"
    frame = re.sub(r"\(.*?site-packages/", "(", frame)
    frame = re.sub(r"\(.*?/lib/python3\.\d+/", "(stdlib/", frame)
    return re.sub(r"\(" + re.escape(str(ROOT)) + "/", "(", frame)


#: Other processes using more than this many cores on average disturb a run.
DISTURBED_CORES = float(os.environ.get("BENCH_DISTURBED_CORES", "0.2"))


def undisturbed(measure, attempts: int = 3) -> dict:
    """Run ``measure``; repeat it (up to ``attempts`` times) while other processes
    used the CPU meanwhile, keeping the least disturbed result."""
    results = []
    for attempt in range(attempts):
        result = measure()
        result["attempt"] = attempt + 1
        results.append(result)
        if result["other_cores"] <= DISTURBED_CORES:
            break
        print(
            f"  {result['label']}: other processes used {result['other_cores']} cores; "
            f"{'repeating' if attempt + 1 < attempts else 'keeping the least disturbed'}",
            flush=True,
        )
        time.sleep(5)
    best = min(results, key=lambda r: r["other_cores"])
    best["attempts"] = len(results)
    return best


def bench_mode(mode: str, out_dir: Path, access_log: bool = False) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    server = Server(mode, Path(tempfile.mkdtemp(prefix=f"bench-{mode}-")), access_log=access_log)
    server.start()
    info = {
        "mode": mode,
        "access_log": access_log,
        "port": server.port,
        "workers": server.workers(),
        "listen": server.listen_backlogs(),
        "runs": [],
    }
    try:
        runs = AB_RUNS if not access_log else [(10_000, 100)]
        for n, c in runs:
            # NOTE: the first run measures the cold start; a repeat would be warm.
            tries = 1 if c == 1 else 3
            info["runs"].append(
                undisturbed(lambda n=n, c=c: ab_run(server, n, c, out_dir), attempts=tries)
            )
            time.sleep(2)
        seconds = WRK_SECONDS if not access_log else 10
        info["runs"].append(undisturbed(lambda: wrk_run(server, out_dir, seconds=seconds)))
        info["workers_after"] = server.workers()
        if not access_log and os.environ.get("BENCH_PYSPY", "1") == "1":
            info["pyspy"] = pyspy(server, out_dir)
    finally:
        info["stop"] = server.stop()
        shutil.copy(server.log, out_dir / "server.log")
        shutil.rmtree(server.workdir, ignore_errors=True)
    return info


# ------------------------------------------------------------------ report
def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.*)", cpuinfo)
    mem = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
    versions = {}
    for dist in ("uWSGI", "eventlet", "Django", "djangorestframework", "pecan", "WebOb"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "not installed"

    def first_line(argv):
        try:
            out = subprocess.run(argv, capture_output=True, text=True)
            return (out.stdout + out.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"

    return {
        "cpu": model.group(1).strip() if model else platform.processor(),
        "cores": CPUS,
        "ram_gib": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "versions": versions,
        "ab": first_line(["ab", "-V"]),
        "wrk": first_line(["wrk", "-v"]),
        "somaxconn": str(somaxconn()),
        "tcp_max_syn_backlog": Path("/proc/sys/net/ipv4/tcp_max_syn_backlog").read_text().strip(),
        "git": subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
    }


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def fmt(value, digits=0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def run_table(info: dict) -> list[str]:
    lines = [
        "| run | req/s | failed (non-2xx) | ab p50 / p99 ms | wrk p50 / p99 ms | server CPU µs/req "
        "| client CPU s | other load (cores) | worker CPU split % "
        "| wrk connections per worker (avg) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in info["runs"]:
        if r["tool"] == "ab":
            failed = f"{r['failed']} ({r['non2xx']})"
            if r["failed"] and r["failed_detail"]:
                failed += f" {r['failed_detail']}"
            if r["aborted"]:
                failed += f" **ab aborted: {r['aborted']}**"
            ab_lat, wrk_lat, conns = f"{fmt(r['p50_ms'])} / {fmt(r['p99_ms'])}", "", ""
        else:
            failed = f"{r['socket_errors']} ({r['non2xx']})"
            if r["socket_errors"]:
                failed += f" {r['socket_errors_detail']}"
            ab_lat = ""
            wrk_lat = f"{fmt(r['p50_ms'], 2)} / {fmt(r['p99_ms'], 2)}"
            conns = " / ".join(fmt(x, 1) for x in r["worker_connections"])
            if r["unaccepted_connections"]:
                conns += f" (+{fmt(r['unaccepted_connections'], 1)} not yet accepted)"
        split_ = " / ".join(fmt(x, 1) for x in r["worker_cpu_split"])
        other = fmt(r["other_cores"], 2)
        if r["attempts"] > 1:
            other += f" (best of {r['attempts']})"
        lines.append(
            f"| {r['label']} | {fmt(r['rps'])} | {failed} | {ab_lat} | {wrk_lat} | "
            f"{fmt(r['server_us_per_req'])} | {fmt(r['client_cpu_s'], 1)} | {other} | "
            f"{split_} | {conns} |"
        )
    return lines


def targets(results: list[dict]) -> list[tuple[str, bool, str]]:
    rows = []
    for info in results:
        if info["access_log"]:
            continue
        mode = info["mode"]
        by_c = {r["c"]: r for r in info["runs"] if r["tool"] == "ab"}
        big = by_c.get(1000)
        if big:
            ok = big["failed"] == 0 and big["non2xx"] == 0 and big["complete"] == 100_000
            rows.append(
                (
                    f"{mode}: 0 failed of 100,000 @ c=1000",
                    ok,
                    f"{big['complete']:,} complete, {big['failed']} failed, "
                    f"{big['non2xx']} non-2xx",
                )
            )
        mid = by_c.get(100)
        if mid and mode in TARGETS:
            ok = (mid["rps"] or 0) > TARGETS[mode] and mid["failed"] == 0
            rows.append(
                (f"{mode}: > {TARGETS[mode]:,} req/s @ c=100", ok, f"{fmt(mid['rps'])} req/s")
            )
    return rows


def write_report(results: list[dict], env: dict, extra: str) -> None:
    m = env["machine"]
    out = [
        "# Benchmark report",
        "",
        "Generated by `make bench` (`bench/run.sh` → `bench/bench.py`); raw outputs in "
        "`bench/results/` (not committed). Do not edit the tables by hand: rerun.",
        "",
        "## Machine and setup",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores; RAM {m['ram_gib']} GiB; kernel {m['kernel']}; "
        f"Python {m['python']}",
        "- " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        f"- {m['ab']}; {m['wrk']}",
        f"- net.core.somaxconn={m['somaxconn']}, net.ipv4.tcp_max_syn_backlog="
        f"{m['tcp_max_syn_backlog']}; git {m['git']}",
        f"- started {env['started']}, took {env['seconds']:.0f} s; load average (1/5/15 min) "
        f"before: {env['load_before']}, after: {env['load_after']}",
        f"- Client and server share the machine (loopback 127.0.0.1). Each server: `run.sh` with "
        f"MULTICLOUD_WORKERS={CPUS} and default settings (access log off), one mode at a time, "
        f"stopped with SIGTERM afterwards. URL: `GET {PATH}`.",
        "- ab runs without `-r` and without keep-alive, so every reset or refused connection "
        "counts as failed. wrk uses HTTP/1.1 keep-alive.",
        "- *server CPU µs/req*: utime+stime of the whole server process tree (supervisor/master + "
        "workers) after − before the run, / completed requests. *client CPU*: ab's or wrk's own "
        "utime+stime (ab is single-threaded: ≈ run time means ab saturated its core).",
        "- *worker CPU split*: each worker's share of the workers' CPU in that run (≈ share of "
        "requests). *wrk connections per worker*: average over `ss -tnp` samples every 0.5 s of "
        "the established connections each worker pid holds. *other load*: average cores used "
        "during the run by processes other than server and client (/proc/stat user+system+steal "
        "− ours − kernel threads; irq/softirq and kernel threads, where loopback TCP is "
        f"processed, left out); a run with more "
        f"than {DISTURBED_CORES} is repeated (up to 3 times, the least "
        "disturbed one is kept).",
        "",
        "Reproduce: `make bench` (installs apache2-utils and wrk when missing).",
        "",
        "## Targets",
        "",
        "| target | met | measured |",
        "|---|---|---|",
    ]
    for name, ok, measured in targets(results):
        out.append(f"| {name} | {'yes' if ok else '**no**'} | {measured} |")
    for info in results:
        title = info["mode"] + (" — access log ON" if info["access_log"] else "")
        out += ["", f"## {title}", ""]
        out.append(
            f"Workers {info['workers']}; listening socket(s) (`ss -ltn`: state, "
            f"Recv-Q, Send-Q = backlog, address): " + "; ".join(f"`{x}`" for x in info["listen"])
        )
        out.append("")
        out += run_table(info)
        stop = info["stop"]
        out += [
            "",
            f"Stop: SIGTERM → exit {stop['exit']} in {stop['seconds']} s; "
            f"{'**killed after timeout**; ' if stop['forced'] else ''}"
            f"processes left running: {stop['left_running'] or 'none'}.",
        ]
        spy = info.get("pyspy")
        if spy:
            out += ["", f"### py-spy ({info['mode']} worker under wrk load)", ""]
            if "error" in spy:
                out.append(f"py-spy failed: {spy['error']}")
            else:
                out.append(
                    f"Worker pid {spy['worker']}, {spy['samples']} samples over 10 s "
                    f"(`py-spy record --rate 200 --format raw`). Share of samples whose "
                    f"stack contains: "
                    + ", ".join(f"`{k}` {v}%" for k, v in spy["needles"].items())
                    + "."
                )
                out += ["", "Top frames by own time:", "", "| % | frame |", "|---:|---|"]
                out += [f"| {p} | `{f}` |" for f, p in spy["top_self"]]
                out += [
                    "",
                    "Top frames by inclusive time (first 25):",
                    "",
                    "| % | frame |",
                    "|---:|---|",
                ]
                out += [f"| {p} | `{f}` |" for f, p in spy["top_inclusive"][:25]]
    if extra:
        out += ["", extra.rstrip()]
    REPORT.write_text("\n".join(out) + "\n")


def main() -> int:
    if sys.argv[1:] == ["--report"]:  # rewrite REPORT.md from the last results.json
        saved = json.loads((RESULTS / "results.json").read_text())
        notes = ROOT / "bench" / "NOTES.md"
        write_report(saved["results"], saved["env"], notes.read_text() if notes.exists() else "")
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    # Other work on the machine skews every number: wait (bounded) for a quiet start.
    quiet_by = time.monotonic() + float(os.environ.get("BENCH_WAIT_QUIET", "180"))
    while float(loadavg().split()[0]) > 1.0 and time.monotonic() < quiet_by:
        print(f"waiting for a quieter machine (load {loadavg()})", flush=True)
        time.sleep(15)
    started = time.monotonic()
    env = {
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "load_before": loadavg(),
        "machine": machine(),
    }
    results = []
    for mode in MODES:
        print(f"== {mode}", flush=True)
        results.append(bench_mode(mode, RESULTS / mode))
        _echo(results[-1])
    if os.environ.get("BENCH_ACCESS_LOG", "1") == "1":
        for mode in MODES:
            print(f"== {mode} (access log on)", flush=True)
            results.append(bench_mode(mode, RESULTS / f"{mode}-access-log", access_log=True))
            _echo(results[-1])
    env["load_after"] = loadavg()
    env["seconds"] = time.monotonic() - started
    (RESULTS / "results.json").write_text(json.dumps({"env": env, "results": results}, indent=1))
    notes = ROOT / "bench" / "NOTES.md"
    write_report(results, env, notes.read_text() if notes.exists() else "")
    print(f"wrote {REPORT}")
    return 0 if all(ok for _, ok, _ in targets(results)) else 1


def _echo(info: dict) -> None:
    for line in run_table(info)[2:]:
        print(line, flush=True)
    print("stop:", info["stop"], flush=True)


if __name__ == "__main__":
    sys.exit(main())
