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

from multicloud.conf import BASE_DIR, ConfigError, Settings, get_settings
from multicloud.openstack import allowlist

#: PostgreSQL advisory lock key that serializes start-up migrations across replicas.
MIGRATION_LOCK = 0x6D63_6D69  # "mcmi"


def migrate() -> None:
    """Apply database migrations (idempotent; safe to run at every start).

    On PostgreSQL, replicas starting together take turns (an advisory lock), so
    two of them never apply the same migration at once.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "multicloud.settings")
    import django
    from django.core.management import call_command
    from django.db import connection, connections

    django.setup()
    locked = connection.vendor == "postgresql"
    if locked:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
    try:
        call_command("migrate", interactive=False, verbosity=1)
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
    from multicloud.images import staging

    settings = get_settings()
    staging.remove_stale_parts(2 * max(settings.request_timeout, settings.cloud_timeout))
    connections.close_all()


def uwsgi_command(settings: Settings) -> list[str]:
    """The uWSGI argv for the django mode."""
    binary = Path(sys.executable).with_name("uwsgi")
    path = str(binary) if binary.exists() else shutil.which("uwsgi")
    if not path:
        raise ConfigError("WEB_FRAMEWORK=django needs uWSGI; run `make venv` first")
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


def main() -> int:
    try:
        settings = get_settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        allowlist.log_policy()
        migrate()
        if settings.web_framework == "django":
            argv = uwsgi_command(settings)
            os.chdir(BASE_DIR)
            os.execv(argv[0], argv)
        os.execv(sys.executable, [sys.executable, "-m", "pecan_app.server"])
    except ConfigError as exc:
        print(f"multicloud: configuration error: {exc}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
