"""The listener process: threads only."""

from __future__ import annotations

import pytest

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


@pytest.mark.django_db(transaction=True)
def test_the_publisher_starts_before_any_region_connects_and_stop_never_waits_for_a_broker():
    import dataclasses
    import socket
    import time

    from listener.regions import ListenTarget
    from listener.runner import ListenerService
    from multicloud.conf import get_settings

    silent = socket.socket()  # accepts connections, never says a word of AMQP
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        port = silent.getsockname()[1]
        settings = dataclasses.replace(get_settings().events, mr_url="http://127.0.0.1:9")
        target = ListenTarget(
            "onap", "R1", f"rabbit://u:p@127.0.0.1:{port}/v", ("notifications",), "pool"
        )
        service = ListenerService(settings, [target])
        service.start()
        # the publisher runs while the region still waits for its broker to say a word
        assert service._thread is not None and service._thread.is_alive()
        assert service.states() == {"onap_R1": "starting"}
        stopping = time.monotonic()
        service.stop(timeout=3)
        assert time.monotonic() - stopping < 8  # the drain time, not the broker's
    finally:
        silent.close()
