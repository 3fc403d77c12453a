"""The pecan mode's server: a small prefork supervisor around eventlet.wsgi.

``python -m pecan_app.server`` (run.sh calls it after the migrations):

* the bootstrap process opens the listening sockets (backlog from
  MULTICLOUD_BACKLOG, capped by the kernel's somaxconn): one per worker, all
  bound to the same address with SO_REUSEPORT, and forks MULTICLOUD_WORKERS
  workers, worker *i* inheriting socket *i* (the kernel spreads new
  connections over the sockets; see :func:`open_sockets`);
* each worker monkey-patches with Eventlet, imports Django and the Pecan app,
  and serves with ``eventlet.wsgi.server``;
* a worker that dies is replaced on the same socket (a worker that keeps dying at start-up makes
  the supervisor give up with a non-zero exit instead of looping);
* SIGTERM/SIGINT: workers stop accepting, finish in-flight requests within
  MULTICLOUD_DRAIN_SECONDS, and the supervisor exits 0.

This is the only module of the code base that imports Eventlet, and only in
the worker processes (the supervisor itself stays a plain process).
"""

from __future__ import annotations

import logging
import logging.config
import os
import signal
import socket
import sys
import time
import warnings

from multicloud.conf import GREEN_THREADS, ConfigError, Settings, get_settings
from multicloud.logs import logging_config

log = logging.getLogger("multicloud.server")

#: A worker dying sooner than this after its start counts as a crash at start-up.
QUICK_DEATH_SECONDS = 2.0
MAX_QUICK_DEATHS = 5
DRAIN_SECONDS = 20.0


def open_sockets(settings: Settings) -> list[socket.socket]:
    """Bind and listen before forking: one socket per worker slot.

    NOTE: with one shared socket, the Eventlet worker that wakes first accepts
    every connection waiting in the queue, so a burst of keep-alive clients
    (wrk: 100 connections at once) often all landed on one worker (100/0 in
    half of the fresh starts; bench/REPORT.md). With SO_REUSEPORT the kernel
    assigns each new connection to one of the sockets by a hash of its
    addresses, so workers get an even share and never compete in accept().
    The sockets stay open in the supervisor, so a dead worker's connections
    wait in its socket's queue until the replacement takes them over.
    """
    info = socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)[0]
    count = settings.workers if hasattr(socket, "SO_REUSEPORT") else 1
    if count > 1:
        # NOTE: SO_REUSEPORT would also let us bind next to another process of
        # the same user already listening there; this plain bind refuses it.
        _listen(info, reuse_port=False, backlog=0).close()
    backlog = settings.listen_backlog
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            socks.append(_listen(info, reuse_port=count > 1, backlog=backlog))
    except OSError:
        for sock in socks:
            sock.close()
        raise
    return socks


def _listen(info, reuse_port: bool, backlog: int) -> socket.socket:
    sock = socket.socket(info[0], socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(info[4])
        if backlog:
            sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class Supervisor:
    """Keeps ``settings.workers`` worker processes alive, one per socket slot."""

    def __init__(self, settings: Settings, socks: list[socket.socket]):
        self.settings = settings
        self.socks = socks
        #: pid -> (slot, start time); slot i serves socks[i] (all share socks[0]
        #: when SO_REUSEPORT is unavailable).
        self.children: dict[int, tuple[int, float]] = {}
        self.stopping = False
        self.quick_deaths = 0

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        for slot in range(self.settings.workers):
            self._spawn(slot)
        # NOTE: debug only: run.sh's start-up line already says where and how many.
        log.debug(
            "pecan mode: %d workers serving http://%s", self.settings.workers, self.settings.bind
        )
        return self._reap_forever()

    def _spawn(self, slot: int) -> None:
        supervisor = os.getpid()
        sock = self.socks[slot % len(self.socks)]
        pid = os.fork()
        if pid == 0:
            # NOTE: until the worker installs its own handlers, a SIGTERM must
            # end it, not run the supervisor's handler on the forked copy.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            code = 1
            try:
                for other in self.socks:
                    if other is not sock:
                        other.close()
                code = run_worker(self.settings, sock, supervisor)
            finally:
                os._exit(code)
        self.children[pid] = (slot, time.monotonic())

    def _reap_forever(self) -> int:
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            slot, started = self.children.pop(pid, (0, time.monotonic()))
            if not self.stopping:
                code = self._replace(pid, slot, status, time.monotonic() - started)
                if code is not None:
                    return code
        log.info("pecan mode: all workers stopped")
        return 0

    def _replace(self, pid: int, slot: int, status: int, lived: float) -> int | None:
        log.warning("worker %d exited (status %d) after %.1fs; replacing it", pid, status, lived)
        self.quick_deaths = self.quick_deaths + 1 if lived < QUICK_DEATH_SECONDS else 0
        if self.quick_deaths >= MAX_QUICK_DEATHS:
            log.error("workers keep dying at start-up; giving up")
            self._on_stop(signal.SIGTERM, None)
            self._wait_children()
            return 1
        time.sleep(min(0.2 * self.quick_deaths, 2.0))
        self._spawn(slot)
        return None

    def _on_stop(self, signum, frame) -> None:
        if self.stopping:
            return
        self.stopping = True
        log.info("pecan mode: signal %d, draining workers", signum)
        for pid in list(self.children):
            _kill(pid, signal.SIGTERM)

    def _wait_children(self) -> None:
        deadline = time.monotonic() + DRAIN_SECONDS + 5
        while self.children and time.monotonic() < deadline:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid:
                self.children.pop(pid, None)
            else:
                time.sleep(0.05)
        for pid in self.children:
            _kill(pid, signal.SIGKILL)


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def run_worker(settings: Settings, sock: socket.socket, supervisor: int) -> int:
    """Body of a worker process: green, Django configured, serving until SIGTERM."""
    warnings.filterwarnings("ignore", message="\nEventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()
    import eventlet.wsgi
    from eventlet.greenio import GreenSocket

    from pecan_app.app import make_app

    app = make_app(close_connections=True)
    server = eventlet.spawn(
        eventlet.wsgi.server,
        GreenSocket(sock),
        _take_turns(app),
        log=logging.getLogger("multicloud.access"),
        log_output=settings.access_log,
        max_size=GREEN_THREADS,
        keepalive=75,
        socket_timeout=settings.request_timeout,
        debug=False,
    )

    def stop(*_args) -> None:
        # NOTE: raising SystemExit in the accept loop makes eventlet close idle
        # keep-alive connections and wait for in-flight requests.
        eventlet.hubs.get_hub().schedule_call_global(0, server.kill, SystemExit)
        eventlet.hubs.get_hub().schedule_call_global(DRAIN_SECONDS, os._exit, 0)

    signal.signal(signal.SIGTERM, stop)
    eventlet.spawn(_watch_parent, supervisor, stop)
    try:
        server.wait()
    except SystemExit:
        pass
    return 0


def _take_turns(app):
    """The WSGI app, yielding to the other connections' green threads first.

    NOTE: eventlet.wsgi serves a keep-alive connection in a loop and only
    yields when a read would block. A client that sends its next request as
    soon as it has the answer (wrk, connection pools under load) always has it
    waiting, so one connection kept the worker while the others waited: with 5
    connections per worker p50 was 0.24 ms but p90 50 ms and p99 134 ms.
    Yielding once per request serves the ready connections in turn.
    """
    import eventlet

    def app_taking_turns(environ, start_response):
        eventlet.sleep(0)
        return app(environ, start_response)

    return app_taking_turns


def _watch_parent(parent: int, stop) -> None:
    """Stop when the supervisor is gone (its workers must not linger)."""
    import eventlet

    while os.getppid() == parent:
        eventlet.sleep(1.0)
    stop()


def main() -> int:
    try:
        settings = get_settings()
    except ConfigError as exc:
        print(f"multicloud: configuration error: {exc}", file=sys.stderr)
        return 2
    logging.config.dictConfig(logging_config(settings))
    try:
        socks = open_sockets(settings)
    except OSError as exc:
        log.error("cannot listen on %s: %s", settings.bind, exc.strerror)
        return 1
    return Supervisor(settings, socks).run()


if __name__ == "__main__":
    sys.exit(main())
