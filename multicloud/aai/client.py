"""The one A&AI REST client.

Every call carries ``X-FromAppId`` and a fresh ``X-TransactionId``, HTTP Basic
credentials and a timeout; TLS is verified (``AAI_CA_FILE`` or the system CAs).
Writes follow A&AI's optimistic locking: an update or delete first reads the
object's current ``resource-version``, a create never sends one, and a 412
(someone else wrote in between) is answered by reading again, a bounded number
of times. Every failure raises an :class:`AaiError` carrying A&AI's own
``requestError`` text.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests

from multicloud import metrics, transaction
from multicloud.conf import AaiSettings, get_settings
from multicloud.exceptions import MulticloudError, NotFound, ServiceUnavailable

log = logging.getLogger(__name__)

APP_ID = "MultiCloud"
#: Attempts of one write when A&AI answers 412 because the version moved on.
MAX_WRITE_ATTEMPTS = 4
JSON = "application/json"


class AaiError(MulticloudError):
    """A&AI refused a call; ``message`` holds A&AI's error text."""

    code = 502
    message = "A&AI refused the request"

    def __init__(self, message: str, status: int, **extra: Any):
        super().__init__(message, aai_status=status, **extra)
        self.status = status


class AaiUnavailable(ServiceUnavailable):
    """A&AI cannot be reached or did not answer in time."""

    message = "A&AI cannot be reached"


class AaiNotFound(NotFound):
    """The object is not in A&AI."""


def path_of(*parts: str) -> str:
    """A URL path from raw key values, each percent-encoded (``/`` included)."""
    return "/" + "/".join(quote(str(p), safe="") for p in parts)


def cloud_region_path(owner: str, region: str) -> str:
    return path_of("cloud-infrastructure", "cloud-regions", "cloud-region", owner, region)


def error_text(response: requests.Response) -> str:
    """A&AI's ``requestError`` as one line: the template with its variables filled in."""
    try:
        fault = response.json()["requestError"]
        exception = fault.get("serviceException") or fault.get("policyException") or {}
        text = exception.get("text", "")
        for index, value in enumerate(exception.get("variables", []), start=1):
            text = text.replace(f"%{index}", str(value))
        return f"{exception.get('messageId', '')} {text}".strip() or response.reason
    except (ValueError, KeyError, TypeError, AttributeError):
        return f"HTTP {response.status_code} {response.reason}: {response.text[:300]}"


def error_code(response: requests.Response) -> str:
    """The ``ERR.5.4.NNNN`` code of an A&AI error (``""`` when there is none)."""
    try:
        variables = response.json()["requestError"]["serviceException"]["variables"]
        return str(variables[-1])
    except (ValueError, KeyError, TypeError, IndexError):
        return ""


class AaiClient:
    """A requests session bound to one A&AI and schema version."""

    def __init__(self, settings: AaiSettings, timeout: float):
        self.base = f"{settings.url}/aai/{settings.schema_version}"
        self.version = settings.schema_version
        self.timeout = timeout
        self.session = requests.Session()
        self.verify: bool | str = settings.ca_file or True
        if settings.username:
            self.session.auth = (settings.username, settings.password)
        self.session.headers.update({"Accept": JSON, "X-FromAppId": APP_ID})

    def related_link(self, path: str) -> str:
        """The host-less ``/aai/{ver}/...`` link A&AI uses in relationships."""
        return f"/aai/{self.version}{path}"

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
        """One exchange; connection failures and timeouts raise :class:`AaiUnavailable`."""
        # NOTE: the ONAP ids of the request (or job) being served ride along; A&AI's
        # X-TransactionId is the caller's transaction id, a fresh one outside any request.
        ids = transaction.outgoing_headers()
        headers = {
            **{k: v for k, v in ids.items() if k != transaction.TRANSACTION_ID},
            "X-TransactionId": ids.get(transaction.TRANSACTION_ID) or str(uuid.uuid4()),
        }
        data = None
        if body is not None:
            headers["Content-Type"] = JSON
            data = json.dumps(body)
        try:
            with metrics.upstream_call("aai") as call:
                reply = self.session.request(
                    method,
                    self.base + path,
                    params=params or None,
                    data=data,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                    # NOTE: per request, since requests lets REQUESTS_CA_BUNDLE override a
                    # session's verify setting.
                    verify=self.verify,
                )
                call.status = reply.status_code
                return reply
        except requests.Timeout:
            raise AaiUnavailable(f"A&AI did not answer {method} {path} in time") from None
        except requests.RequestException as exc:
            # NOTE: the detail (A&AI's address, the socket error) is for the log, not callers.
            log.warning("A&AI %s %s: %s", method, path, exc)
            reason = (
                "TLS verification failed"
                if isinstance(exc, requests.exceptions.SSLError)
                else "connection failed"
            )
            raise AaiUnavailable(f"cannot reach A&AI for {method} {path} ({reason})") from None

    def checked(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """A call that must succeed; its JSON body (None when empty)."""
        response = self.call(method, path, body, **params)
        if response.status_code >= 400:
            raise self.failure(method, path, response)
        return response.json() if response.content else None

    def failure(self, method: str, path: str, response: requests.Response) -> MulticloudError:
        text = f"A&AI {method} {path}: {error_text(response)}"
        if response.status_code == 404:
            return AaiNotFound(text)
        if response.status_code >= 500:
            return AaiUnavailable(text, aai_status=response.status_code)
        return AaiError(text, response.status_code, aai_code=error_code(response))

    def get(self, path: str, **params: Any) -> dict[str, Any] | None:
        """The object (or plural) at ``path``; None when A&AI holds nothing there."""
        try:
            return self.checked("GET", path, **params)
        except AaiNotFound:
            return None

    def get_list(self, path: str, singular: str, **params: Any) -> list[dict[str, Any]]:
        """A plural's members (A&AI answers 404 for an empty list)."""
        found = self.get(path, **params) or {}
        return list(found.get(singular, []))

    def put(
        self,
        path: str,
        body: dict[str, Any],
        before_create: Callable[[], None] | None = None,
        drop: tuple[str, ...] = (),
    ) -> bool:
        """Create or update: read the version first, retry on 412; True when created.

        An update keeps the object's other attributes (and its edges and children);
        ``drop`` names attributes to remove. ``before_create`` runs before a create
        is sent, so a caller can note the object as its own even if the answer is lost.
        """
        for attempt in range(1, MAX_WRITE_ATTEMPTS + 1):
            current = self.get(path)
            sent = {k: v for k, v in body.items() if k != "resource-version"}
            if current is not None:
                kept = {k: v for k, v in _own_fields(current).items() if k not in drop}
                sent = {**kept, **sent, "resource-version": _version(current)}
            elif before_create is not None:
                before_create()
            response = self.call("PUT", path, sent)
            if response.status_code < 300:
                return current is None
            if response.status_code != 412 or attempt == MAX_WRITE_ATTEMPTS:
                raise self.failure("PUT", path, response)
            log.info("A&AI PUT %s: version moved on (attempt %d), reading again", path, attempt)
        raise AssertionError("unreachable")

    def delete(self, path: str) -> bool:
        """Delete with the current version, retry on 412; False when it was not there."""
        for attempt in range(1, MAX_WRITE_ATTEMPTS + 1):
            current = self.get(path)
            if current is None:
                return False
            response = self.call("DELETE", path, **{"resource-version": _version(current)})
            if response.status_code < 300 or response.status_code == 404:
                return response.status_code < 300
            if response.status_code != 412 or attempt == MAX_WRITE_ATTEMPTS:
                raise self.failure("DELETE", path, response)
            log.info("A&AI DELETE %s: version moved on (attempt %d)", path, attempt)
        raise AssertionError("unreachable")

    def relate(self, path: str, related_to: str, target: str) -> None:
        """Add an edge from ``path`` to ``target`` (idempotent in A&AI)."""
        self.checked(
            "PUT", f"{path}/relationship-list/relationship", self._edge(related_to, target)
        )

    def unrelate(self, path: str, related_to: str, target: str) -> None:
        self.checked(
            "DELETE", f"{path}/relationship-list/relationship", self._edge(related_to, target)
        )

    def _edge(self, related_to: str, target: str) -> dict[str, str]:
        return {"related-to": related_to, "related-link": self.related_link(target)}


def _version(current: dict[str, Any]) -> str:
    return str(current.get("resource-version", ""))


def _own_fields(current: dict[str, Any]) -> dict[str, Any]:
    """What to keep of the object A&AI holds when updating it: its scalar attributes.

    Child lists are left out (a present but partial list would delete children)
    and so is the relationship list (when absent, A&AI leaves the edges alone).
    """
    return {
        k: v
        for k, v in current.items()
        if not isinstance(v, dict | list) and k != "resource-version"
    }


_lock = threading.Lock()
#: The settings the client was made from, and the client.
_current: tuple[Any, AaiClient] | None = None


def client() -> AaiClient:
    """The process's client for the configured A&AI (rebuilt when the settings change)."""
    global _current
    settings = get_settings()
    with _lock:
        # NOTE: compared by identity, holding the settings: an id() alone may be reused.
        if _current is None or _current[0] is not settings:
            timeout = min(settings.aai.timeout or settings.cloud_timeout, settings.cloud_timeout)
            _current = (settings, AaiClient(settings.aai, timeout))
        return _current[1]
