"""ONAP transaction ids: taken from a request, logged with it, sent on every outgoing call.

A request's ``X-ONAP-RequestID`` (or the older ``X-TransactionID``),
``X-InvocationID`` and ``X-ONAP-PartnerName`` are kept in a context variable for
the time the request is served (a new request id is generated when none came).
Log records carry them (:class:`LogFilter`), answers repeat them
(:func:`response_headers`) and clients of other services add
:func:`outgoing_headers` to what they send; OpenStack services also get
:func:`openstack_request_id`, which Nova and Keystone write into their logs.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

REQUEST_ID = "X-ONAP-RequestID"
TRANSACTION_ID = "X-TransactionID"
INVOCATION_ID = "X-InvocationID"
PARTNER_NAME = "X-ONAP-PartnerName"
#: What this service calls itself as the partner of the services it calls.
OUR_NAME = "multicloud"

#: An id we accept from a caller: no spaces or control characters (they reach the logs).
_SAFE = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class Transaction:
    """The ids of the request being served."""

    request_id: str
    invocation_id: str
    transaction_id: str
    partner_name: str = ""


_current: contextvars.ContextVar[Transaction | None] = contextvars.ContextVar(
    "multicloud_transaction", default=None
)


def new_id() -> str:
    return str(uuid.uuid4())


def _safe(value: str | None) -> str:
    value = (value or "").strip()
    return value if _SAFE.match(value) else ""


def from_headers(get: Callable[[str], str | None]) -> Transaction:
    """The ids of a request whose headers ``get`` looks up (case-insensitively)."""
    request_id = _safe(get(REQUEST_ID)) or _safe(get(TRANSACTION_ID)) or new_id()
    return Transaction(
        request_id=request_id,
        invocation_id=_safe(get(INVOCATION_ID)) or new_id(),
        transaction_id=_safe(get(TRANSACTION_ID)) or request_id,
        partner_name=_safe(get(PARTNER_NAME)),
    )


def current() -> Transaction | None:
    """The transaction of the request (or notification) being handled, if any."""
    return _current.get()


def begin(transaction: Transaction) -> contextvars.Token:
    """Make ``transaction`` current; give the token to :func:`end`."""
    return _current.set(transaction)


def end(token: contextvars.Token) -> None:
    _current.reset(token)


@contextmanager
def serving(transaction: Transaction | None) -> Iterator[Transaction | None]:
    """``transaction`` is current inside the block (a listener's notification, a command)."""
    token = _current.set(transaction)
    try:
        yield transaction
    finally:
        _current.reset(token)


def response_headers(transaction: Transaction) -> list[tuple[str, str]]:
    """The headers an answer repeats."""
    headers = [
        (REQUEST_ID, transaction.request_id),
        (TRANSACTION_ID, transaction.transaction_id),
        (INVOCATION_ID, transaction.invocation_id),
    ]
    if transaction.partner_name:
        headers.append((PARTNER_NAME, transaction.partner_name))
    return headers


def outgoing_headers(transaction: Transaction | None = None) -> dict[str, str]:
    """Headers for a call to another service (A&AI, Message Router, a plugin, OpenStack).

    The request and transaction ids go on unchanged; the invocation id is this
    request's, so the callee's logs point at our log lines; we are the partner.
    Empty outside any request.
    """
    transaction = transaction or current()
    if transaction is None:
        return {}
    return {
        REQUEST_ID: transaction.request_id,
        TRANSACTION_ID: transaction.transaction_id,
        INVOCATION_ID: transaction.invocation_id,
        PARTNER_NAME: OUR_NAME,
    }


def add_outgoing(headers: Mapping[str, str] | None) -> dict[str, str]:
    """``headers`` plus :func:`outgoing_headers` (the caller's own values win)."""
    merged = outgoing_headers()
    lower = {name.lower() for name in (headers or {})}
    merged = {name: value for name, value in merged.items() if name.lower() not in lower}
    merged.update(headers or {})
    return merged


def openstack_request_id(transaction: Transaction | None = None) -> str | None:
    """``req-<uuid>`` for OpenStack's ``X-OpenStack-Request-ID`` (a global request id).

    NOTE: OpenStack services accept only that form (oslo.middleware request_id),
    so a caller's id that is not a UUID is not sent there.
    """
    transaction = transaction or current()
    if transaction is None:
        return None
    value = transaction.request_id.lower().removeprefix("req-")
    return f"req-{value}" if _UUID.match(value) else None


T = TypeVar("T")


def propagating(function: Callable[..., T]) -> Callable[..., T]:
    """``function`` bound to the current context, to run in another thread."""
    context = contextvars.copy_context()

    def run(*args: Any, **kwargs: Any) -> T:
        return context.copy().run(function, *args, **kwargs)

    return run


class LogFilter(logging.Filter):
    """Puts the current ids on every record (``request_id``, ``invocation_id``, ...)."""

    def filter(self, record: logging.LogRecord) -> bool:
        transaction = _current.get()
        record.request_id = transaction.request_id if transaction else ""
        record.invocation_id = transaction.invocation_id if transaction else ""
        record.partner_name = transaction.partner_name if transaction else ""
        record.transaction = (
            f"[{transaction.request_id} {transaction.invocation_id}] " if transaction else ""
        )
        return True
