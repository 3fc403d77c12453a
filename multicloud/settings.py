"""Django settings, derived from :mod:`multicloud.conf` (read nothing else here)."""

from __future__ import annotations

from typing import Any

import dj_database_url

from multicloud.conf import BASE_DIR, get_settings
from multicloud.logs import logging_config

_conf = get_settings()

SECRET_KEY = _conf.secret_key
DEBUG = _conf.debug
ALLOWED_HOSTS = list(_conf.allowed_hosts)

INSTALLED_APPS = [
    "rest_framework",
    "multicloud",
    "multicloud.vims",
    "multicloud.images",
    "multicloud.auth",
    "multicloud.events",
    "multicloud.workload",
    "listener",
]
MIDDLEWARE: list[str] = ["multicloud.api.django_middleware.ObserveMiddleware"]
ROOT_URLCONF = "multicloud.urls"
WSGI_APPLICATION = "multicloud.wsgi.application"
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
BASE = BASE_DIR


def _database(url: str) -> dict:
    db: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=0))
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # NOTE: WAL lets readers run while a writer commits; IMMEDIATE avoids
        # "database is locked" upgrades of read transactions to write ones.
        db["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        # NOTE: the test database is a file too. Django's default in-memory one
        # runs in SQLite's shared-cache mode, whose table locks fail at once
        # ("table is locked") instead of waiting, so a background thread (region
        # discovery, the listener) writing beside a test made tests flaky.
        db["TEST"] = {"NAME": str(_conf.data_dir / "test-multicloud.sqlite3")}
    return db


DATABASES = {"default": _database(_conf.database_url)}

REST_FRAMEWORK = {
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_PARSER_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "multicloud.api.django_views.exception_handler",
}

LOGGING_CONFIG = "logging.config.dictConfig"
LOGGING = logging_config(_conf)
