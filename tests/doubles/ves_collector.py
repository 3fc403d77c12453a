"""In-process test double of DCAE's VES collector (event listener API 7.x).

An HTTP(S) server on 127.0.0.1 (ephemeral port) answering as the collector does:

* ``POST /eventListener/v7`` with ``{"event": {...}}`` and
  ``POST /eventListener/v7/eventBatch`` with ``{"eventList": [...]}``: every body is
  validated against the VES 7.x JSON schema shipped with the tests
  (``tests/data/ves-7-event-schema.json``); valid → **202 Accepted** (empty body) and the
  events are kept; invalid JSON or schema → **400** with the collector's error body
  ``{"requestError": {"ServiceException": {"messageId": "SVC0002", "text", "variables"}}}``;
  a single event POSTed to the batch endpoint (or a list to the single one) → 400 as well.
* Basic auth when configured: wrong or missing credentials → **401** with a
  ``PolicyException`` (``POL2000``) body.
* Fault injection: :meth:`fail_next` (e.g. 503 with ``SVC1000`` "No server resources"),
  :meth:`down`/:meth:`up` (connections refused).
* ``GET`` of any path → 405 (the collector has nothing to read); answered while up.
"""

from __future__ import annotations

import base64
import json
import threading
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from tests.doubles.dmaap_mr import make_self_signed_cert

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "ves-7-event-schema.json"
SINGLE = "/eventListener/v7"
BATCH = "/eventListener/v7/eventBatch"


@cache
def validator(envelope: str = "") -> Any:
    """The schema's validator; for ``event`` or ``eventList`` only the schema of that body
    (so an error names what is wrong inside it, not that neither body matched)."""
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    if envelope:
        branch = next(b for b in schema["oneOf"] if envelope in b["required"])
        schema = {**{k: v for k, v in schema.items() if k != "oneOf"}, **branch}
    return jsonschema.Draft7Validator(schema)


def service_exception(message_id: str, text: str, *variables: str) -> dict[str, Any]:
    return {
        "requestError": {
            "ServiceException": {
                "messageId": message_id,
                "text": text,
                "variables": list(variables),
            }
        }
    }


def policy_exception(message_id: str, text: str, *variables: str) -> dict[str, Any]:
    return {
        "requestError": {
            "PolicyException": {"messageId": message_id, "text": text, "variables": list(variables)}
        }
    }


class FakeVesCollector:
    """The double; use as a context manager (``with FakeVesCollector() as ves:``)."""

    def __init__(self, tls: bool = False, basic_auth: tuple[str, str] | None = None) -> None:
        self.tls = tls
        self.basic_auth = basic_auth
        self.ca_file = ""
        self._lock = threading.Lock()
        self._events: list[dict[str, Any]] = []
        self._requests: list[tuple[str, int]] = []
        self._fail: list[int] = []
        self._server: ThreadingHTTPServer | None = None
        self._port = 0
        self._tmp: Path | None = None

    # ----------------------------------------------------------------- life cycle

    def start(self) -> Self:
        server = ThreadingHTTPServer(("127.0.0.1", self._port), _Handler)
        server.daemon_threads = True
        server.collector = self  # type: ignore[attr-defined]
        if self.tls:
            import ssl
            import tempfile

            self._tmp = self._tmp or Path(tempfile.mkdtemp(prefix="ves-double-"))
            cert, key = make_self_signed_cert(self._tmp)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            self.ca_file = str(cert)
        self._port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def down(self) -> None:
        """Refuse connections (the port stays ours for :meth:`up`)."""
        self.stop()

    def up(self) -> None:
        self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self._port}"

    # ----------------------------------------------------------------- faults and views

    def fail_next(self, n: int, status: int = 503) -> None:
        """Answer the next ``n`` POSTs with ``status`` (503: no server resources)."""
        with self._lock:
            self._fail = [status] * n

    def events(self) -> list[dict[str, Any]]:
        """Every accepted VES event, in arrival order."""
        with self._lock:
            return list(self._events)

    def requests(self) -> list[tuple[str, int]]:
        """(path, status) of every POST answered."""
        with self._lock:
            return list(self._requests)

    # ----------------------------------------------------------------- handling

    def handle(self, path: str, auth: str | None, body: bytes) -> tuple[int, Any]:
        status, answer = self._answer(path, auth, body)
        with self._lock:
            self._requests.append((path, status))
        return status, answer

    def _answer(self, path: str, auth: str | None, body: bytes) -> tuple[int, Any]:
        if path not in (SINGLE, BATCH):
            return 404, service_exception(
                "SVC0002", "Bad Parameter (Incorrect request api version)"
            )
        if not self._authorised(auth):
            return 401, policy_exception("POL2000", "Unauthorized: invalid or missing credentials")
        with self._lock:
            failing = self._fail.pop(0) if self._fail else None
        if failing is not None:
            return failing, service_exception(
                "SVC1000", "No server resources (internal processing queue full)"
            )
        try:
            document = json.loads(body)
        except ValueError as exc:
            return 400, service_exception(
                "SVC0002", "Bad Parameter (JSON does not parse)", str(exc)
            )
        problem = self._invalid(path, document)
        if problem:
            return 400, service_exception(
                "SVC0002", "Bad Parameter (JSON does not conform to schema)", problem
            )
        events = document["eventList"] if path == BATCH else [document["event"]]
        with self._lock:
            self._events.extend(events)
        return 202, None

    def _authorised(self, header: str | None) -> bool:
        if self.basic_auth is None:
            return True
        expected = "Basic " + base64.b64encode(":".join(self.basic_auth).encode()).decode()
        return header == expected

    @staticmethod
    def _invalid(path: str, document: Any) -> str:
        from jsonschema.exceptions import best_match

        envelope = "eventList" if path == BATCH else "event"
        if not isinstance(document, dict) or envelope not in document:
            return f"the {'batch' if path == BATCH else 'single event'} endpoint takes {envelope}"
        error = best_match(validator(envelope).iter_errors(document))
        while error is not None and error.context:  # the deepest cause, not "oneOf failed"
            error = best_match(error.context)
        if error is not None:
            where = "/".join(map(str, error.absolute_path)) or "(root)"
            return f"{where}: {error.message}"[:500]
        if validator().is_valid(document):
            return ""
        return "not a VES 7.x event body"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeVesCollector/7"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        collector: FakeVesCollector = self.server.collector  # type: ignore[attr-defined]
        status, answer = collector.handle(self.path, self.headers.get("Authorization"), body)
        self._send(status, answer)

    def do_GET(self) -> None:
        self._send(405, service_exception("SVC0002", "Bad Parameter (method not allowed)"))

    def _send(self, status: int, answer: Any) -> None:
        data = b"" if answer is None else json.dumps(answer).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
