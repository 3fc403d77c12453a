"""Image throughput: through Multicloud versus straight to Glance, in both serving modes.

    make bench-images     # or: .venv/bin/python -m bench.images [--size-mib 200] [--rounds 3]

Needs the OpenStack sandbox (tools/openstack-sandbox.sh). Starts run.sh on a free
loopback port per mode (one worker), registers the sandbox region, then for each
round uploads the same file straight to Glance (glanceclient, as a client would)
and through Multicloud (raw body, Content-Length), and downloads it both ways.
Prints the median MB/s of each, the ratio, and the server worker's peak RSS
(VmHWM). Everything stays on loopback; images are deleted afterwards. Writes
bench/IMAGES.md (the table, the load average, then bench/IMAGES-NOTES.md).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests.integration.regions import region_body
from tests.sandbox import load_sandbox, make_session
from tests.servers import Service

ROOT = Path(__file__).resolve().parents[1]


MIB = 1 << 20
REPORT = ROOT / "bench" / "IMAGES.md"
#: Target: each transfer through Multicloud at this share of direct Glance or more.
MIN_RATIO = 0.90
#: Flat memory: the worker's peak RSS grows by less than this share of the image (a worker
#: that held the image whole would grow by all of it). Meaningful for images of 100 MiB up.
MAX_RSS_SHARE = 0.25


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def make_file(path: Path, size: int) -> None:
    block = hashlib.sha512(b"bench").digest() * (MIB // 64)
    with open(path, "wb") as out:
        for i in range(size // MIB):
            out.write(i.to_bytes(8, "big") + block[8:])


def direct_round(glance, session, path: Path, size: int, glance_url: str) -> tuple[float, float]:
    image = glance.images.create(name="mc-bench-direct", disk_format="raw", container_format="bare")
    try:
        start = time.perf_counter()
        with open(path, "rb") as data:
            glance.images.upload(image["id"], data, image_size=size)
        up = time.perf_counter() - start
        start = time.perf_counter()
        got = session.get(f"{glance_url}/v2/images/{image['id']}/file", stream=True)
        received = sum(len(c) for c in got.iter_content(MIB))
        down = time.perf_counter() - start
        assert received == size
        return up, down
    finally:
        glance.images.delete(image["id"])


def multicloud_round(base: str, path: Path, size: int) -> tuple[float, float]:
    start = time.perf_counter()
    with open(path, "rb") as data:
        answer = requests.post(
            f"{base}/images/file?name=mc-bench-via&imageType=raw",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            timeout=900,
        )
    up = time.perf_counter() - start
    answer.raise_for_status()
    image_id = answer.json()["id"]
    try:
        start = time.perf_counter()
        with requests.get(f"{base}/images/file/{image_id}", stream=True, timeout=900) as got:
            received = sum(len(c) for c in got.iter_content(MIB))
        down = time.perf_counter() - start
        assert received == size
        return up, down
    finally:
        requests.delete(f"{base}/images/{image_id}", timeout=60)


def peak_rss_mib(svc: Service) -> float:
    peaks = []
    for pid in svc.workers():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks)


def run_mode(mode, sandbox, glance, session, path, size, rounds, tmp: Path) -> dict:
    svc = Service(
        tmp,
        WEB_FRAMEWORK=mode,
        MULTICLOUD_WORKERS="1",
        MULTICLOUD_IMAGE_STAGING_RETENTION="0",
        MULTICLOUD_LOG_LEVEL="WARNING",
    )
    svc.wait_ready()
    try:
        requests.post(
            f"{svc.url}/api/multicloud/v1/osbox/RegionOne/registry",
            json=region_body(sandbox),
            timeout=60,
        ).raise_for_status()
        base = f"{svc.url}/api/multicloud/v0/osbox_RegionOne/{sandbox.admin.project_name}"
        rss_idle = peak_rss_mib(svc)
        direct, via, loads = [], [], [load_average()]
        for _ in range(rounds):
            direct.append(direct_round(glance, session, path, size, sandbox.glance_url))
            via.append(multicloud_round(base, path, size))
            loads.append(load_average())
        return {
            "mode": mode,
            "direct_up": size / MIB / statistics.median(d[0] for d in direct),
            "via_up": size / MIB / statistics.median(v[0] for v in via),
            "direct_down": size / MIB / statistics.median(d[1] for d in direct),
            "via_down": size / MIB / statistics.median(v[1] for v in via),
            "rss_idle": rss_idle,
            "rss_peak": peak_rss_mib(svc),
            "loads": loads,
        }
    finally:
        svc.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--size-mib", type=int, default=200, choices=range(1, 2049), metavar="1..2048"
    )
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, 11), metavar="1..10")
    parser.add_argument("--modes", default="django,pecan")
    parser.add_argument("--report", default=str(REPORT))
    args = parser.parse_args()
    # NOTE: SIGTERM (timeout, Ctrl-C from make) unwinds, so the servers started here are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    import glanceclient

    sandbox = load_sandbox()
    session = make_session(sandbox, sandbox.admin)
    glance = glanceclient.Client("2", session=session, region_name=sandbox.region)
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory(prefix="mc-bench-images-") as tmp:
        path = Path(tmp) / "image.raw"
        make_file(path, size)
        results = [
            run_mode(m, sandbox, glance, session, path, size, args.rounds, Path(tmp))
            for m in args.modes.split(",")
        ]
    text, ok = report(results, args, started)
    Path(args.report).write_text(text)
    print(text)
    return 0 if ok else 1


def report(results: list[dict], args, started: str) -> tuple[str, bool]:
    lines = [
        "# Image throughput: through Multicloud versus straight to Glance",
        "",
        f"Generated by `bench/images.py` (`make bench-images`) at {started}: an image of "
        f"{args.size_mib} MiB, median of {args.rounds} rounds, MiB/s; one worker per mode. "
        f"Target: every ratio ≥ {MIN_RATIO:.0%}, worker memory flat (VmHWM grows by less "
        f"than {MAX_RSS_SHARE:.0%} of the image: a worker holding the image would grow by all "
        "of it).",
        "",
        "| mode | upload direct | upload via Multicloud | ratio | download direct "
        "| download via Multicloud | ratio | worker VmHWM idle → after | memory flat "
        "| target | load avg per round |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ok = True
    for r in results:
        up, down = r["via_up"] / r["direct_up"], r["via_down"] / r["direct_down"]
        flat = r["rss_peak"] - r["rss_idle"] < MAX_RSS_SHARE * args.size_mib
        met = up >= MIN_RATIO and down >= MIN_RATIO and flat
        ok = ok and met
        lines.append(
            f"| {r['mode']} | {r['direct_up']:.0f} | {r['via_up']:.0f} | {up:.0%} "
            f"| {r['direct_down']:.0f} | {r['via_down']:.0f} | {down:.0%} "
            f"| {r['rss_idle']:.0f} → {r['rss_peak']:.0f} MiB | {'yes' if flat else 'NO'} "
            f"| {'met' if met else 'MISSED'} | {'; '.join(r['loads'])} |"
        )
    notes = ROOT / "bench" / "IMAGES-NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text().rstrip()]
    return "\n".join(lines) + "\n", ok


if __name__ == "__main__":
    raise SystemExit(main())
