"""What ``run.sh`` runs: validate settings, migrate, then become the server.

django mode: ``exec uwsgi --ini uwsgi.ini`` plus the options that come from the
settings on the command line (uWSGI does not expand ``$(VAR)`` in every ini
option: ``listen`` silently became 0). pecan mode: ``exec python -m pecan_app.server``.
Both replace this process, so signals reach the server directly.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from multicloud import privileges
from multicloud.auth import hosts
from multicloud.conf import BASE_DIR, ConfigError, Settings, get_settings
from multicloud.openstack import allowlist
from multicloud.quiet import filter_output

#: PostgreSQL advisory lock key that serializes start-up migrations across replicas.
MIGRATION_LOCK = 0x6D63_6D69  # "mcmi"


def migrate() -> int:
    """Apply database migrations (idempotent; safe to run at every start); how many ran.

    On PostgreSQL, replicas starting together take turns (an advisory lock), so
    two of them never apply the same migration at once.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "multicloud.settings")
    import django
    from django.core.management import call_command
    from django.db import connection, connections
    from django.db.migrations.executor import MigrationExecutor

    django.setup()
    locked = connection.vendor == "postgresql"
    if locked:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        call_command("migrate", interactive=False, verbosity=0)
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
    from multicloud.images import pending as pending_images
    from multicloud.images import staging

    settings = get_settings()
    idle = 2 * max(settings.request_timeout, settings.cloud_timeout)
    # NOTE: the images of uploads that died first (they look at the .part files), then
    # the partial files themselves.
    pending_images.sweep(settings.images.staging_dir, idle, budget=settings.cloud_timeout)
    staging.remove_stale_parts(idle)
    connections.close_all()
    return len(pending)


def uwsgi_binary() -> str:
    binary = Path(sys.executable).with_name("uwsgi")
    path = str(binary) if binary.exists() else shutil.which("uwsgi")
    if not path:
        raise ConfigError("WEB_FRAMEWORK=django needs uWSGI; run `make venv` first")
    return path


def uwsgi_command(settings: Settings) -> list[str]:
    """The uWSGI argv for the django mode."""
    path = uwsgi_binary()
    options = {
        "home": sys.prefix,
        "http-socket": settings.bind,
        "processes": settings.workers,
        "threads": settings.threads,
        "listen": settings.listen_backlog,
        # NOTE: no harakiri: it kills the whole worker (every thread) at a fixed
        # deadline even while bytes flow, so long image transfers failed. The
        # timeout is per read/write instead: a request that stops moving is cut,
        # one that keeps moving is not (cloud side: MULTICLOUD_CLOUD_TIMEOUT).
        "socket-timeout": settings.request_timeout,
    }
    argv = [path, "--ini", str(BASE_DIR / "uwsgi.ini")]
    for name, value in options.items():
        argv += [f"--{name}", str(value)]
    if not settings.access_log:
        # NOTE: a flag without a value; "--disable-logging true" reads "true" as a config file.
        argv.append("--disable-logging")
    return argv


def metrics_dir(settings: Settings) -> Path:
    """The workers' Prometheus directory, emptied: samples of an earlier run must not count."""
    path = settings.metrics_dir or settings.metrics_dir_default or settings.data_dir / "metrics"
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)
    return path


def _written_dirs(settings: Settings) -> list[Path]:
    """Directories the server writes besides the data dir (handed to MULTICLOUD_RUN_AS)."""
    found = [settings.images.staging_dir]
    if settings.metrics_dir is not None:
        found.append(settings.metrics_dir)
    if settings.images.export_dir is not None:
        found.append(settings.images.export_dir)
    return found


def _programs(settings: Settings) -> list[Path]:
    return [Path(uwsgi_binary())] if settings.web_framework == "django" else []


def banner(settings: Settings) -> str:
    """The one start-up line: mode, workers, where it listens."""
    per_worker = f" x {settings.threads} threads" if settings.web_framework == "django" else ""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return (
        f"multicloud: {settings.web_framework} mode, {settings.workers} workers{per_worker}, "
        f"listening on http://{host}:{settings.port} "
        f"(docs /api/multicloud/v0/docs, metrics /metrics; Ctrl-C stops)"
    )


def main() -> int:
    try:
        settings = get_settings()
        os.umask(privileges.UMASK)
        privileges.secure(settings.data_dir)
        user = privileges.drop(
            settings.run_as, settings.data_dir, _written_dirs(settings), _programs(settings)
        )
        if user:
            print(f"multicloud: running as {user} (MULTICLOUD_RUN_AS)", flush=True)
        allowlist.log_policy()
        hosts.log_policy(settings)
        # NOTE: a write, for the server this process becomes: prometheus_client reads
        # the variable itself in every worker (and conf.py reads it as metrics_dir).
        os.environ.update(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir(settings)))
        applied = migrate()
        print(f"multicloud: database ready ({applied} migrations applied)", flush=True)
        print(banner(settings), flush=True)
        if settings.web_framework == "django":
            argv = uwsgi_command(settings)
            os.chdir(BASE_DIR)
            filter_output()
            os.execv(argv[0], argv)
        os.execv(sys.executable, [sys.executable, "-m", "pecan_app.server"])
    except ConfigError as exc:
        print(f"multicloud: configuration error: {exc}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
