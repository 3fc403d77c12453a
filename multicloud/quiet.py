"""A quiet uWSGI: its start-up banner and shutdown chatter filtered out of the output.

uWSGI prints about 40 lines when it starts (build, OS, locks, warnings about
running as root) and, when stopped with Ctrl-C, a deadlock-detector notice
about the workers it just killed; this uWSGI is built without PCRE, so its own
``log-drain`` option is not available. :func:`filter_output` passes the
process's stdout and stderr through a small detached process that drops those
lines and keeps everything else (application logs, errors, worker crashes,
HARAKIRI notices).
"""

from __future__ import annotations

import os
import re
import signal
import threading

#: Lines of uWSGI's start-up banner (informational, or warnings that do not apply).
BANNER = re.compile(
    r"^(\[uWSGI\] getting |\*\*\* Starting uWSGI|compiled with version|os: |nodename: |"
    r"machine: |clock source|detected |current working directory|!!! no internal routing|"
    r"uWSGI running as root|\s*\*\*\* WARNING: you (are running|have enabled harakiri)|"
    r"your (processes number|memory page|server socket|mercy)|lock engine|thunder lock|"
    r"uwsgi socket \d+ bound|Python version|PEP 405 virtualenv|Set PythonHome|"
    r"Python main interpreter|python threads support|mapped \d+ bytes|\*\*\* Operational MODE|"
    r"WSGI app \d+ \(mountpoint|spawned uWSGI|\*\*\* uWSGI is running in multiple|"
    r"running \"unix_signal:\d+ gracefully_kill_them_all\" \(master-start\))"
)
#: What uWSGI says while it stops on SIGINT/SIGTERM (after :data:`STOPPING`).
STOPPING = re.compile(r"^SIGINT/SIGTERM received|^\.\.\.gracefully killing")
SHUTDOWN = re.compile(
    r"^(\[deadlock-detector\]|worker \d+ buried|goodbye to uWSGI|"
    r"DAMN ! worker \d+ \(pid: \d+\) died|Respawned uWSGI worker|VACUUM:|"
    r".*killing workers|\.\.\.gracefully)"
)


class LineFilter:
    """Decides line by line; once uWSGI says it is stopping, its shutdown lines go too."""

    def __init__(self) -> None:
        self.stopping = False

    def keep(self, line: str) -> bool:
        if STOPPING.search(line):
            self.stopping = True
            return False
        if self.stopping and SHUTDOWN.search(line):
            return False
        return not BANNER.search(line)


def filter_output() -> None:
    """From now on this process's stdout and stderr go through :class:`LineFilter`.

    The filter runs in a grandchild (so the server keeps this pid and its
    children are only its workers); it ignores SIGINT/SIGTERM and ends when the
    last writer (the server and its workers) has gone.
    """
    pipes = [os.pipe(), os.pipe()]
    child = os.fork()
    if child == 0:
        _become_filter(pipes)
    os.waitpid(child, 0)
    for target, (read_end, write_end) in zip((1, 2), pipes, strict=True):
        os.close(read_end)
        os.dup2(write_end, target)
        os.close(write_end)


def _become_filter(pipes: list[tuple[int, int]]) -> None:
    if os.fork() != 0:
        os._exit(0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    decide = LineFilter()
    threads = []
    for target, (read_end, write_end) in zip((1, 2), pipes, strict=True):
        os.close(write_end)
        thread = threading.Thread(target=_pump, args=(read_end, target, decide))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    os._exit(0)


def _pump(read_end: int, target: int, decide: LineFilter) -> None:
    with os.fdopen(read_end, "rb", buffering=0) as source:
        for raw in iter(source.readline, b""):
            if decide.keep(raw.decode(errors="replace")):
                os.write(target, raw)
