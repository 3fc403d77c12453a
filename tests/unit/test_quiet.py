"""multicloud/quiet.py: uWSGI's banner and shutdown chatter go, everything else stays."""

from multicloud.quiet import LineFilter

BANNER = """\
*** Starting uWSGI 2.0.28 (64bit) on [Thu Dec  4 17:24:50 2026] ***
compiled with version: 12.2.0 on 01 December 2026 10:00:00
os: Linux-6.1.0 #1 SMP PREEMPT_DYNAMIC Debian 6.1.0
nodename: host
machine: x86_64
clock source: unix
detected number of CPU cores: 2
current working directory: /srv/multicloud
detected binary path: /srv/multicloud/.venv/bin/uwsgi
!!! no internal routing support, rebuild with pcre support !!!
uWSGI running as root, you can use --uid/--gid/--chroot options
*** WARNING: you are running uWSGI as root !!! (use the --uid flag) ***
your processes number limit is 63704
your memory page size is 4096 bytes
detected max file descriptor number: 1048576
lock engine: pthread robust mutexes
thunder lock: enabled
uwsgi socket 0 bound to TCP address 127.0.0.1:9001 fd 3
Python version: 3.11.2 (main, Mar 13 2023, 12:18:29) [GCC 12.2.0]
PEP 405 virtualenv detected: /srv/multicloud/.venv
Set PythonHome to /srv/multicloud/.venv
Python main interpreter initialized at 0x7f
python threads support enabled
your server socket listen backlog is limited to 4096 connections
your mercy for graceful operations on workers is 60 seconds
mapped 1000000 bytes (976 KB) for 16 cores
*** Operational MODE: preforking+threaded ***
WSGI app 0 (mountpoint='') ready in 1 seconds on interpreter 0x7f pid: 10 (default app)
*** uWSGI is running in multiple interpreter mode ***
spawned uWSGI master process (pid: 10)
running "unix_signal:15 gracefully_kill_them_all" (master-start)...
spawned uWSGI worker 1 (pid: 11, cores: 8)
"""
APP = "2026-12-04 17:24:54,041 11 ERROR multicloud.http: registry_v1 failed: boom\n"
STOP = """\
SIGINT/SIGTERM received...killing workers...
[deadlock-detector] a process holding a robust mutex died. recovering...
worker 1 buried after 1 seconds
goodbye to uWSGI.
VACUUM: unix socket removed.
"""


def kept(text: str, lines: LineFilter) -> list[str]:
    return [line for line in text.splitlines(keepends=True) if lines.keep(line)]


def test_the_banner_and_the_shutdown_go_and_the_application_s_lines_stay():
    lines = LineFilter()
    assert kept(BANNER, lines) == []
    assert kept(APP, lines) == [APP]
    assert kept(STOP, lines) == []
    assert kept(APP, lines) == [APP]  # still kept while stopping


def test_a_worker_dying_while_serving_is_not_hidden():
    died = "DAMN ! worker 1 (pid: 11) died, killed by signal 9 :( trying respawn ...\n"
    detector = "[deadlock-detector] a process holding a robust mutex died. recovering...\n"
    lines = LineFilter()
    assert kept(died + detector, lines) == [died, detector]
