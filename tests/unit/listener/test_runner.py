"""The listener process: threads only."""

from __future__ import annotations

from listener import regions


def test_the_listener_process_runs_on_native_threads_never_monkey_patched(tmp_path):
    import subprocess
    import sys

    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'multicloud.settings'; "
        "django.setup(); "
        "import listener.management.commands.run_listener, listener.runner, oslo_messaging; "
        "from listener.transport import oslo_config; oslo_config(8); "
        "import eventlet.patcher as p; "
        "print(p.is_monkey_patched('thread'), p.is_monkey_patched('socket'))"
    )
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=regions.__file__.rsplit("/", 2)[0],
        env={"MULTICLOUD_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].split() == ["False", "False"]
