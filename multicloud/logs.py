"""Logging to stdout, as text or one JSON object per line."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from multicloud.conf import Settings


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message (+ exception)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def logging_config(settings: Settings) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict for ``settings``."""
    formatter = (
        {"()": "multicloud.logs.JsonFormatter"}
        if settings.log_format == "json"
        else {"format": "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "default",
            }
        },
        "root": {"handlers": ["stdout"], "level": settings.log_level},
        "loggers": {
            # NOTE: Django logs every 4xx as a warning; our handlers already do.
            "django.request": {"level": "ERROR"},
            "multicloud.access": {"level": "INFO" if settings.access_log else "WARNING"},
        },
    }
