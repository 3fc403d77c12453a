"""Inbound dead letters: notifications that can never become events, parked with the reason.

Framework-free (Django ORM only). A notification a retry will not cure (too deeply nested,
NaN or Infinity, a ``\\u0000`` PostgreSQL cannot store, a failure that repeats on every
delivery) is stored here and then acknowledged, so it is neither dropped silently nor
redelivered forever, and the other notifications keep flowing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import reprlib
from dataclasses import dataclass
from typing import Any

from multicloud import transaction
from multicloud.events.models import InboundDeadLetter

log = logging.getLogger(__name__)
MAX_TEXT = 200_000
#: An escaped NUL in JSON text (not an escaped backslash followed by "u0000").
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxdict, _SHORT.maxlist, _SHORT.maxstring = 8, 50, 50, 2000


@dataclass(frozen=True)
class Poison:
    """One notification to park, and why."""

    vim_id: str
    priority: str
    event_type: Any
    payload: Any
    metadata: Any
    reason: str
    #: The id of the request the notification came from (its log line carries it).
    request_id: str = ""

    @property
    def message_id(self) -> str:
        """Nova's message_id, or (none given) a digest of the notification: the key that
        keeps a redelivered poison from being parked twice."""
        found = self.metadata.get("message_id") if isinstance(self.metadata, dict) else ""
        if found:
            return str(found)[:255]
        return "sha256:" + hashlib.sha256(self.text.encode()).hexdigest()

    @property
    def text(self) -> str:
        return as_text(
            {"event_type": self.event_type, "payload": self.payload, "metadata": self.metadata}
        )


def park(items: list[Poison]) -> int:
    """Store ``items`` (a notification already parked is not parked twice); returns how many
    are new. Call inside the caller's transaction: parked before acknowledged."""
    new = [item for item in items if not _parked(item)]
    InboundDeadLetter.objects.bulk_create(_row(item) for item in new)
    for item in new:
        ids = transaction.from_headers({transaction.REQUEST_ID: item.request_id or None}.get)
        with transaction.serving(ids):
            log.error(
                "listener %s: PARKED notification %s (%s): %s",
                item.vim_id,
                item.message_id,
                str(item.event_type)[:120],
                item.reason,
            )
    return len(new)


def _parked(item: Poison) -> bool:
    return InboundDeadLetter.objects.filter(vim_id=item.vim_id, message_id=item.message_id).exists()


def _row(item: Poison) -> InboundDeadLetter:
    return InboundDeadLetter(
        vim_id=item.vim_id,
        message_id=item.message_id,
        event_type=str(item.event_type)[:255],
        priority=str(item.priority)[:16],
        reason=item.reason[:2000],
        notification=item.text,
    )


def as_text(value: Any) -> str:
    """JSON text of ``value`` when it has one (NaN kept as ``NaN``, ``\\u0000`` escaped),
    else a depth-limited repr; never longer than :data:`MAX_TEXT`."""
    try:
        text = json.dumps(value, default=repr)
    except (RecursionError, ValueError, TypeError):
        text = _SHORT.repr(value)
    return text[:MAX_TEXT].replace("\x00", "\\x00")


def as_json(message: dict[str, Any]) -> tuple[str, str]:
    """(why ``message`` cannot be stored, "") or ("", its JSON text, as stored)."""
    try:
        text = json.dumps(message, allow_nan=False)
    except RecursionError:
        return "nested too deeply", ""
    except ValueError:
        return "contains NaN or Infinity (not JSON)", ""
    # NOTE: the substring test first: the regex alone cost more than the JSON encoding.
    if "\\u0000" in text and _NUL.search(text):
        return "contains \\u0000 (PostgreSQL cannot store it)", ""
    return "", text
