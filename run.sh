#!/usr/bin/env bash
# The one entrypoint. WEB_FRAMEWORK=django (default) runs uWSGI + Django/DRF;
# WEB_FRAMEWORK=pecan runs Eventlet + Pecan workers sharing one socket.
# Every setting comes from the environment (see README "Configuration").
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${MULTICLOUD_PYTHON:-}"
if [ -z "$python" ]; then
  if [ -x "$here/.venv/bin/python" ]; then python="$here/.venv/bin/python"; else python=python3; fi
fi
cd "$here"
exec "$python" -m multicloud.launch
