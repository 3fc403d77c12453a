#!/usr/bin/env bash
# `make bench`: both serving modes side by side on loopback, one invocation.
# Installs ab (apache2-utils) and wrk when missing, then runs bench/bench.py
# with the project venv; raw outputs land in bench/results/ (gitignored) and
# the summary in bench/REPORT.md. Exit status 1 when a target is missed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

need=()
command -v ab >/dev/null 2>&1 || need+=(apache2-utils)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v ss >/dev/null 2>&1 || need+=(iproute2)
if [ "${#need[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "bench: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi

# ab at c=1000 and the servers need more than 1024 descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true

echo "bench: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
exec "$here/.venv/bin/python" -m bench.bench "$@"
