"""Logging to stdout, as text or one JSON object per line.

Records logged while a request (or a listener notification) is handled carry its
ONAP ids (:mod:`multicloud.transaction`): JSON fields ``request_id``,
``invocation_id``, ``partner_name``; in text, a ``[request-id invocation-id]`` prefix.
"""

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
        for name in ("request_id", "invocation_id", "partner_name"):
            value = getattr(record, name, "")
            if value:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


#: The text format; ``%(transaction)s`` is the request's id prefix (or nothing).
TEXT_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(transaction)s%(message)s"


def logging_config(settings: Settings) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict for ``settings``."""
    formatter = (
        {"()": "multicloud.logs.JsonFormatter"}
        if settings.log_format == "json"
        else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "filters": {"transaction": {"()": "multicloud.transaction.LogFilter"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "default",
                "filters": ["transaction"],
            }
        },
        "root": {"handlers": ["stdout"], "level": settings.log_level},
        "loggers": {
            # NOTE: Django logs every 4xx as a warning; our handlers already do.
            "django.request": {"level": "ERROR"},
            "multicloud.access": {"level": "INFO" if settings.access_log else "WARNING"},
        },
    }
