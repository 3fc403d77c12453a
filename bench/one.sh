#!/usr/bin/env bash
# `make bench-proxy|bench-regions|bench-images`: one benchmark script with the project venv.
# Installs ab (apache2-utils) when missing and needs the OpenStack sandbox
# (MULTICLOUD_SANDBOX_STATE, default .sandbox/state). Runs from the repository root as a
# module (python -m bench.<name>), so the scripts import tests/ helpers without path tricks.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
script="$1"
shift
if ! command -v ab >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "bench: installing apache2-utils (ab)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq apache2-utils
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "bench: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
exec timeout 600 "$here/.venv/bin/python" -m "bench.${script%.py}" "$@"
