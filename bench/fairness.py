"""Keep-alive fairness check: N fresh starts of a mode, a short wrk each.

``.venv/bin/python -m bench.fairness pecan 5`` prints, per start, the average
number of wrk's 100 keep-alive connections each worker held and its share of
the workers' CPU. The first connections after start are the ones that used to
land on one worker, so every round starts a new server.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from bench.bench import RESULTS, Server, wrk_run


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else "pecan"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    out = RESULTS / f"fairness-{mode}"
    out.mkdir(parents=True, exist_ok=True)
    for i in range(rounds):
        server = Server(mode, Path(tempfile.mkdtemp(prefix="bench-fair-")))
        server.start()
        try:
            r = wrk_run(server, out, seconds=4, tag=f"-{i}")
            print(
                f"{mode} round {i}: connections per worker {r['worker_connections']} "
                f"(+{r['unaccepted_connections']} unaccepted), "
                f"CPU split {r['worker_cpu_split']} %, {r['rps']:,.0f} req/s, "
                f"p50/p99 {r['p50_ms']}/{r['p99_ms']} ms, listen {server.listen_backlogs()}",
                flush=True,
            )
        finally:
            server.stop()
            shutil.rmtree(server.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
