"""In-process test double of ONAP DMaaP Message Router (MR), speaking MR's REST protocol.

The double is an HTTP(S) server on 127.0.0.1 (ephemeral port by default) that implements
the parts of MR's wire protocol a publisher/subscriber sees:

* ``POST /events/{topic}[?partitionKey=K]`` with ``application/json`` (one object or an
  array of objects; each object is one message, stored re-serialised),
  ``application/cambria`` / ``application/cambria-zip`` (``<keyLen>.<msgLen>.<key><msg>``
  entries, lengths in BYTES), ``text/plain`` (one message per line) or any other type
  (the whole body is one raw message).  Replies ``200 {"count": n, "serverTimeMs": ms}``.
  Topics are created on first publish.
* ``GET /events/{topic}/{group}/{id}?timeout=ms&limit=n``: long poll answering a JSON
  array of STRINGS.  A new consumer group starts at the latest offset; offsets are
  committed only after the response was written; two concurrent GETs on the same
  (group, id) get 409.
* ``GET /topics`` and ``POST /topics/create``.
* Errors always carry MR's body ``{"status", "mrstatus", "message", "helpURL"}``.

Fault injection and observability are plain, thread-safe Python methods, for tests that
run the double in-process.  Faults apply to publishes only, in this order: ``slow`` delay,
``reset_next``, ``fail_next``, ``fail_for``, body parsing (400), size limits (413), then
``partial_publish_next`` (500/5007).  Faults that reject a publish store nothing, except
``partial_publish_next`` (first k) and ``reset_next(store=True)`` (all, then reset).

Subscriber fidelity: an offset is committed only when the response write succeeded, so a
failed write means redelivery; ``down()``/``stop()`` during a long poll reset the
connection instead of answering.  The model is one partition per topic; consumers of the same
group share that partition's committed offset.  State (messages, offsets) survives
``down()``/``up()``, as Kafka would keep it across an MR process restart.
"""

from __future__ import annotations

import base64
import datetime
import gzip
import ipaddress
import json
import shutil
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

LOOPBACK = "127.0.0.1"
HELP_URL = "https://docs.onap.org/projects/onap-dmaap-messagerouter-messageservice"
MAX_CAMBRIA_LENGTH = 4000 * 1024
TOP_LIMIT = 4096
DEFAULT_POLL_TIMEOUT_MS = 10000
CHUNKED_JSON_MESSAGE = "The JSON stream reader doesn't support chunking"

# HTTP status -> MR "mrstatus" (DMaaPResponseCode) used when a status is injected.
MR_CODES: dict[int, int] = {
    400: 5003,  # incorrect batching format
    401: 4001,  # invalid credentials
    403: 4002,  # access not permitted
    404: 5007,  # MR's publish catch-all answers 404 with the partial-publish code
    409: 5012,  # concurrent GET on one consumer id (MR reuses TOO_MANY_REQUESTS)
    413: 5001,  # batch too big
    429: 5012,  # too many requests
    500: 5002,  # unable to publish
    503: 3002,  # server unavailable
    504: 5006,  # connection timeout
}
INJECTABLE_STATUSES = frozenset({400, 401, 403, 404, 429, 500, 503, 504})
_MESSAGES: dict[int, str] = {
    400: "Incorrect batching format.",
    401: "Access denied: invalid credentials.",
    403: "Access denied: not permitted.",
    404: "Error while publishing data to topic. Successfully published number of messages: 0",
    429: "This client is making too many requests. Please use a long poll setting.",
    500: "Unable to publish the messages to the topic.",
    503: "Server is temporarily unavailable or busy.",
    504: "Connection to the Kafka broker timed out.",
}


class MRError(Exception):
    """An MR error reply: HTTP status, MR code and message."""

    def __init__(self, status: int, mrstatus: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.mrstatus = mrstatus
        self.message = message

    def body(self) -> dict[str, Any]:
        """Return MR's JSON error body."""
        return {
            "status": self.status,
            "mrstatus": self.mrstatus,
            "message": self.message,
            "helpURL": HELP_URL,
        }


def injected_error(status: int) -> MRError:
    """Build the MR error for an injected HTTP status."""
    return MRError(status, MR_CODES[status], _MESSAGES[status])


@dataclass(frozen=True)
class Record:
    """One stored message: partition key (or None) and the message text."""

    key: str | None
    text: str


@dataclass
class _Faults:
    """Injected faults; guarded by the router's condition lock."""

    fail_remaining: int = 0
    fail_status: int = 503
    fail_until: float = 0.0
    fail_for_status: int = 503
    reset_remaining: int = 0
    reset_store: bool = False
    partial_next: int | None = None
    delay: float = 0.0
    max_batch: int | None = None
    max_bytes: int | None = None
    #: per topic: (status or None, delay): a topic MR refuses, or answers slowly
    topic_faults: dict[str, tuple[int | None, float]] = field(default_factory=dict)


# --------------------------------------------------------------------------- body parsers


def parse_json_body(body: bytes, chunked: bool, default_key: str | None) -> list[Record]:
    """Parse an application/json publish body (one object or an array of objects)."""
    if chunked:
        raise MRError(400, 5005, CHUNKED_JSON_MESSAGE)
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MRError(400, 5005, f"Incorrect JSON object. Could not parse JSON. {exc}") from exc
    items = doc if isinstance(doc, list) else [doc]
    if not all(isinstance(item, dict) for item in items):
        raise MRError(400, 5005, "Incorrect JSON object. Each message must be a JSON object.")
    return [_json_record(item, default_key) for item in items]


def _json_record(obj: dict[str, Any], default_key: str | None) -> Record:
    """Re-serialise one JSON object the way MR does (compact, no ASCII escaping)."""
    key = obj.get("cambria.partition", default_key)
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return Record(None if key is None else str(key), text)


def parse_cambria_body(body: bytes, default_key: str | None) -> list[Record]:
    """Parse ``<keyLen>.<msgLen>.<key><msg>`` entries; lengths count BYTES."""
    records: list[Record] = []
    pos = _skip_whitespace(body, 0)
    while pos < len(body):
        key_len, pos = _read_length(body, pos)
        msg_len, pos = _read_length(body, pos)
        if pos + key_len + msg_len > len(body):
            raise MRError(400, 5003, "Incorrect batching format: entry is truncated.")
        key = _decode(body[pos : pos + key_len])
        msg = _decode(body[pos + key_len : pos + key_len + msg_len])
        records.append(Record(key or default_key, msg))
        pos = _skip_whitespace(body, pos + key_len + msg_len)
    return records


def _skip_whitespace(body: bytes, pos: int) -> int:
    """Return the first position at or after ``pos`` that is not ASCII whitespace."""
    while pos < len(body) and body[pos : pos + 1].isspace():
        pos += 1
    return pos


def _read_length(body: bytes, pos: int) -> tuple[int, int]:
    """Read ``<digits>.`` at ``pos``; return the length and the position after the dot."""
    dot = body.find(b".", pos)
    digits = body[pos:dot] if dot >= 0 else b""
    if not digits.isdigit():
        raise MRError(400, 5003, "Incorrect batching format: expected <length>.")
    length = int(digits)
    if length > MAX_CAMBRIA_LENGTH:
        raise MRError(400, 5003, f"Length {length} exceeds the maximum {MAX_CAMBRIA_LENGTH}.")
    return length, dot + 1


def _decode(data: bytes) -> str:
    """Decode UTF-8 strictly; a length that splits a character is a format error."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MRError(400, 5003, "Incorrect batching format: lengths must count bytes.") from exc


def parse_text_body(body: bytes, default_key: str | None) -> list[Record]:
    """Parse text/plain: one message per non-empty line."""
    lines = _decode(body).splitlines()
    return [Record(default_key, line) for line in lines if line.strip()]


def parse_body(
    content_type: str, body: bytes, chunked: bool, default_key: str | None
) -> list[Record]:
    """Dispatch on the media type, as MR's publish endpoint does."""
    media = content_type.split(";")[0].strip().lower()
    if media == "application/json":
        return parse_json_body(body, chunked, default_key)
    if media == "application/cambria":
        return parse_cambria_body(body, default_key)
    if media == "application/cambria-zip":
        return parse_cambria_body(_gunzip(body), default_key)
    if media == "text/plain":
        return parse_text_body(body, default_key)
    return [Record(default_key, body.decode("utf-8", errors="replace"))]


def _gunzip(body: bytes) -> bytes:
    """Decompress an application/cambria-zip body."""
    try:
        return gzip.decompress(body)
    except (OSError, EOFError) as exc:
        raise MRError(400, 5003, "Incorrect batching format: bad gzip stream.") from exc


# --------------------------------------------------------------------------- TLS


def make_self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """Write a self-signed cert (CA, SAN 127.0.0.1/localhost) and key; return both paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-message-router")])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    now = datetime.datetime.now(datetime.UTC)
    san = [x509.IPAddress(ipaddress.ip_address(LOOPBACK)), x509.DNSName("localhost")]
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


# --------------------------------------------------------------------------- HTTP server


class _Server(ThreadingHTTPServer):
    """Threading server that tracks handler threads/sockets and wraps TLS per connection."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, router: FakeMessageRouter, port: int) -> None:
        self.router = router
        super().__init__((LOOPBACK, port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve each connection on a tracked daemon thread."""
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), daemon=True
        )
        self.router._track_thread(thread)
        thread.start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that went away; report anything else."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Do the TLS handshake on the handler thread, then serve the connection."""
        conn = request
        if self.router._ssl_context is not None:
            try:
                request.settimeout(5)
                conn = self.router._ssl_context.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                request.close()
                return
        self.router._track_conn(conn, add=True)
        try:
            super().finish_request(conn, client_address)
        finally:
            self.router._track_conn(conn, add=False)
            conn.close()


class _Handler(BaseHTTPRequestHandler):
    """Routes MR's REST calls to the owning FakeMessageRouter."""

    protocol_version = "HTTP/1.1"
    server_version = "FakeDMaaPMessageRouter/1.0"
    timeout = 15
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        """Dispatch GET /topics and GET /events/{topic}/{group}/{id}."""
        self._dispatch("GET")

    def do_POST(self) -> None:
        """Dispatch POST /events/{topic} and POST /topics/create."""
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        """Read the body, check auth, route; MRError becomes MR's error reply."""
        router = self.server.router
        parts = urlsplit(self.path)
        segments = [unquote(s) for s in parts.path.split("/") if s]
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            body, chunked = self._read_body()
            router._note_request(
                dict(self.headers.items()), publish=method == "POST" and segments[:1] == ["events"]
            )
            router._check_auth(self.headers.get("Authorization"))
            self._route(method, segments, query, body, chunked)
        except MRError as err:
            self.send_json(err.status, err.body())
        except _ConnectionReset:
            self.reset_connection()

    def _route(
        self, method: str, segments: list[str], query: dict[str, str], body: bytes, chunked: bool
    ) -> None:
        """Call the router method matching the path and method."""
        router = self.server.router
        if method == "POST" and len(segments) == 2 and segments[0] == "events":
            ctype = self.headers.get("Content-Type", "application/octet-stream")
            reply = router._publish(segments[1], ctype, body, chunked, query.get("partitionKey"))
            self.send_json(200, reply)
        elif method == "GET" and len(segments) == 4 and segments[0] == "events":
            router._subscribe(self, segments[1], segments[2], segments[3], query)
        elif method == "GET" and segments == ["topics"]:
            self.send_json(200, {"topics": router.topics()})
        elif method == "POST" and segments == ["topics", "create"]:
            self.send_json(200, router._create_topic_from_body(body))
        else:
            raise MRError(404, 3001, f"No resource for {method} {self.path}")

    def _read_body(self) -> tuple[bytes, bool]:
        """Read the request body (Content-Length or chunked); return (bytes, chunked)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(), True
        length = int(self.headers.get("Content-Length") or 0)
        return (self.rfile.read(length) if length else b""), False

    def _read_chunked(self) -> bytes:
        """Decode a chunked transfer-encoded body."""
        data = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline().strip():
                    pass
                return bytes(data)
            data += self.rfile.read(size)
            self.rfile.readline()

    def send_json(self, status: int, payload: Any) -> None:
        """Send a JSON reply; raises OSError if the client went away."""
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="dmaap"')
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def reset_connection(self) -> None:
        """Abort the TCP connection with RST and no HTTP response."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass


class _ConnectionReset(Exception):
    """Raised inside the double to drop the connection without a response."""


# --------------------------------------------------------------------------- the double


class FakeMessageRouter:
    """A faithful, in-process DMaaP Message Router double for tests.

    Args:
        port: TCP port on 127.0.0.1; 0 (default) picks a free ephemeral port.  ``up()``
            after ``down()`` always rebinds the same port.
        tls: serve HTTPS with a self-signed cert generated at ``start()``; clients verify
            with ``ca_file``.
        basic_auth: ``(user, password)``; when set every request needs matching HTTP
            Basic credentials, else 401 with mrstatus 4001.
        max_poll_seconds: cap on the long-poll wait (MR's default is 10 s); smaller
            ``timeout`` query values are honoured.
    """

    def __init__(
        self,
        port: int = 0,
        tls: bool = False,
        basic_auth: tuple[str, str] | None = None,
        max_poll_seconds: float = 2.0,
    ) -> None:
        self.port = port
        self.tls = tls
        self.basic_auth = basic_auth
        self.max_poll_seconds = max_poll_seconds
        self.ca_file: str | None = None
        self._cond = threading.Condition()
        self._topics: dict[str, list[Record]] = {}
        self._offsets: dict[tuple[str, str], int] = {}
        self._busy_groups: set[tuple[str, str]] = set()
        self._active_consumers: set[tuple[str, str, str]] = set()
        self._faults = _Faults()
        self._publish_requests = 0
        self._received_headers: dict[str, str] = {}
        self._publish_headers: dict[str, str] = {}
        self._epoch = 0
        self._halt = threading.Event()
        self._server: _Server | None = None
        self._serve_thread: threading.Thread | None = None
        self._threads: set[threading.Thread] = set()
        self._conns: set[Any] = set()
        self._ssl_context: ssl.SSLContext | None = None
        self._tmpdir: Path | None = None
        self._started = False

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT`` (``https`` when tls=True)."""
        return f"{'https' if self.tls else 'http'}://{LOOPBACK}:{self.port}"

    def start(self) -> FakeMessageRouter:
        """Generate the TLS material if needed and start listening."""
        if self._started:
            return self
        if self.tls:
            self._setup_tls()
        self._halt.clear()
        self._listen()
        self._started = True
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving: close the listener and connections, join threads (bounded)."""
        if not self._started:
            return
        self._started = False
        self._halt.set()
        self._close_listener_and_connections()
        deadline = time.monotonic() + timeout
        for thread in self._snapshot_threads():
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def down(self) -> None:
        """Simulate the MR process being down: refuse connections, drop open ones."""
        self._close_listener_and_connections()

    def up(self) -> None:
        """Bring MR back on the SAME port; topics and committed offsets are kept."""
        if self._server is None and self._started:
            self._listen()

    def __enter__(self) -> Self:
        """Start and return the double."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the double."""
        self.stop()

    def _setup_tls(self) -> None:
        """Create the temp dir, cert/key and the server SSL context."""
        self._tmpdir = Path(tempfile.mkdtemp(prefix="fake-mr-tls-"))
        cert, key = make_self_signed_cert(self._tmpdir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._ssl_context = context
        self.ca_file = str(cert)

    def _listen(self) -> None:
        """Bind 127.0.0.1:port and serve on a background thread."""
        server = _Server(self, self.port)
        self.port = server.server_address[1]
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-mr-{self.port}",
            daemon=True,
        )
        self._server, self._serve_thread = server, thread
        thread.start()

    def _close_listener_and_connections(self) -> None:
        """Close the listening socket, wake long polls and abort open connections."""
        server, thread = self._server, self._serve_thread
        self._server = self._serve_thread = None
        with self._cond:
            self._epoch += 1
            self._cond.notify_all()
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(2.0)
        with self._cond:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _track_thread(self, thread: threading.Thread) -> None:
        """Remember a handler thread (pruning finished ones)."""
        with self._cond:
            self._threads = {t for t in self._threads if t.is_alive()}
            self._threads.add(thread)

    def _snapshot_threads(self) -> list[threading.Thread]:
        """Return the handler threads still known."""
        with self._cond:
            return list(self._threads)

    def _track_conn(self, conn: Any, add: bool) -> None:
        """Add or remove an open client connection."""
        with self._cond:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    # ----------------------------------------------------------------- fault injection

    def fail_next(self, n: int, status: int = 503) -> None:
        """Answer the next ``n`` publishes with ``status`` and MR's error body; store nothing."""
        _check_status(status)
        with self._cond:
            self._faults.fail_remaining, self._faults.fail_status = n, status

    def fail_for(self, seconds: float, status: int = 503) -> None:
        """Answer every publish with ``status`` for ``seconds`` from now; store nothing."""
        _check_status(status)
        with self._cond:
            self._faults.fail_until = time.monotonic() + seconds
            self._faults.fail_for_status = status

    def max_batch_messages(self, n: int | None) -> None:
        """Reject (413, mrstatus 5001) publishes with more than ``n`` messages; None = off."""
        with self._cond:
            self._faults.max_batch = n

    def max_message_bytes(self, n: int | None) -> None:
        """Reject (413, mrstatus 5004) publishes holding a message over ``n`` UTF-8 bytes."""
        with self._cond:
            self._faults.max_bytes = n

    def partial_publish_next(self, k: int) -> None:
        """Next publish stores only its first ``k`` messages and answers 500/5007."""
        with self._cond:
            self._faults.partial_next = k

    def reset_next(self, n: int, store: bool = False) -> None:
        """Drop the connection (TCP RST, no HTTP response) for the next ``n`` publishes.

        ``store=False``: the reset happens before anything is stored (a lost request).
        ``store=True``: the messages are stored and committed first, then the connection
        is reset; a client that retries will therefore produce duplicates.
        """
        with self._cond:
            self._faults.reset_remaining, self._faults.reset_store = n, store

    def fail_topic(self, topic: str, status: int | None = 404, delay: float = 0.0) -> None:
        """Every publish to ``topic`` waits ``delay`` seconds, then gets ``status`` (None:
        processed normally after the delay); other topics are not affected."""
        if status is not None:
            _check_status(status)
        with self._cond:
            self._faults.topic_faults[topic] = (status, delay)

    def slow(self, seconds: float) -> None:
        """Delay each publish by ``seconds`` before processing it (0 = off).

        The publish is still processed after the delay even if the client has given up,
        as a real server would; a client timeout followed by a retry duplicates messages.
        """
        with self._cond:
            self._faults.delay = seconds

    # ----------------------------------------------------------------- observability

    def create_topic(self, topic: str) -> None:
        """Create ``topic`` if missing (so subscribers do not get 404)."""
        with self._cond:
            self._topics.setdefault(topic, [])

    def topics(self) -> list[str]:
        """Return the sorted topic names."""
        with self._cond:
            return sorted(self._topics)

    def records(self, topic: str) -> list[Record]:
        """Return the stored records (partition key and text) of ``topic``."""
        with self._cond:
            return list(self._topics.get(topic, []))

    def raw(self, topic: str) -> list[str]:
        """Return the stored message texts of ``topic``."""
        return [record.text for record in self.records(topic)]

    def messages(self, topic: str) -> list[Any]:
        """Return the stored messages of ``topic`` parsed as JSON (non-JSON stays text)."""
        return [_maybe_json(text) for text in self.raw(topic)]

    @property
    def publish_requests(self) -> int:
        """Number of ``POST /events/...`` requests received (whatever their outcome)."""
        with self._cond:
            return self._publish_requests

    @property
    def received_headers(self) -> dict[str, str]:
        """Headers of the last request received."""
        with self._cond:
            return dict(self._received_headers)

    @property
    def publish_headers(self) -> dict[str, str]:
        """Headers of the last ``POST /events/{topic}`` received (probes do not count)."""
        with self._cond:
            return dict(self._publish_headers)

    def clear(self) -> None:
        """Forget topics, messages, consumer offsets, counters and last headers."""
        with self._cond:
            self._topics.clear()
            self._offsets.clear()
            self._publish_requests = 0
            self._received_headers = {}
            self._publish_headers = {}

    # ----------------------------------------------------------------- request handling

    def _note_request(self, headers: dict[str, str], publish: bool) -> None:
        """Record the request headers and count publishes."""
        with self._cond:
            self._received_headers = headers
            self._publish_requests += int(publish)
            if publish:
                self._publish_headers = headers

    def _check_auth(self, header: str | None) -> None:
        """Raise 401/4001 when Basic credentials are required and do not match."""
        if self.basic_auth is None:
            return
        user, password = self.basic_auth
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if header != expected:
            raise MRError(401, 4001, "Access denied: invalid or missing credentials.")

    def _publish(
        self, topic: str, content_type: str, body: bytes, chunked: bool, partition_key: str | None
    ) -> dict[str, int]:
        """Apply faults, parse, check limits and store; return MR's success body."""
        started = time.monotonic()
        self._sleep_if_slow()
        self._topic_fault(topic)
        reset_store, status = self._take_failure()
        if reset_store is False:
            raise _ConnectionReset
        if status is not None:
            raise injected_error(status)
        records = parse_body(content_type, body, chunked, partition_key)
        if reset_store:
            self._store(topic, records)
            raise _ConnectionReset
        self._check_limits(records)
        self._store_with_partial(topic, records)
        return {"count": len(records), "serverTimeMs": int((time.monotonic() - started) * 1000)}

    def _sleep_if_slow(self) -> None:
        """Honour ``slow()``; a stop during the delay drops the request."""
        with self._cond:
            delay = self._faults.delay
        if delay > 0 and self._halt.wait(delay):
            raise _ConnectionReset

    def _topic_fault(self, topic: str) -> None:
        """Honour ``fail_topic()``: wait its delay, then answer its status (if any)."""
        with self._cond:
            status, delay = self._faults.topic_faults.get(topic, (None, 0.0))
        if delay > 0 and self._halt.wait(delay):
            raise _ConnectionReset
        if status is not None:
            raise injected_error(status)

    def _take_failure(self) -> tuple[bool | None, int | None]:
        """Consume a reset or failure fault: (reset_store or None, status or None)."""
        with self._cond:
            faults = self._faults
            if faults.reset_remaining > 0:
                faults.reset_remaining -= 1
                return faults.reset_store, None
            if faults.fail_remaining > 0:
                faults.fail_remaining -= 1
                return None, faults.fail_status
            if time.monotonic() < faults.fail_until:
                return None, faults.fail_for_status
            return None, None

    def _check_limits(self, records: list[Record]) -> None:
        """Raise 413 when a configured batch or message limit is exceeded."""
        with self._cond:
            max_batch, max_bytes = self._faults.max_batch, self._faults.max_bytes
        if max_batch is not None and len(records) > max_batch:
            raise MRError(
                413, 5001, f"The batch of {len(records)} messages exceeds the limit of {max_batch}."
            )
        for record in records:
            size = len(record.text.encode("utf-8"))
            if max_bytes is not None and size > max_bytes:
                raise MRError(
                    413, 5004, f"Message size {size} exceeds the limit of {max_bytes} bytes."
                )

    def _store_with_partial(self, topic: str, records: list[Record]) -> None:
        """Store ``records``, or only the first k of them when a partial publish is armed."""
        with self._cond:
            k, self._faults.partial_next = self._faults.partial_next, None
        if k is None:
            self._store(topic, records)
            return
        self._store(topic, records[:k])
        raise MRError(
            500,
            5007,
            f"Error while publishing data to topic {topic}. "
            f"Successfully published number of messages: {k}",
        )

    def _store(self, topic: str, records: list[Record]) -> None:
        """Append records to the topic (auto-created) and wake long polls."""
        with self._cond:
            self._topics.setdefault(topic, []).extend(records)
            self._cond.notify_all()

    def _create_topic_from_body(self, body: bytes) -> dict[str, Any]:
        """Handle ``POST /topics/create``; return the topic description."""
        try:
            spec = json.loads(body.decode("utf-8") or "{}")
            name = str(spec["topicName"])
        except (ValueError, KeyError, TypeError) as exc:
            raise MRError(400, 6003, "Failed to create topic: topicName is required.") from exc
        with self._cond:
            if name in self._topics:
                raise MRError(409, 6003, f"Failed to create topic {name}: topic exists.")
            self._topics[name] = []
        return {
            "name": name,
            "description": spec.get("topicDescription", ""),
            "owner": "",
            "txenabled": bool(spec.get("transactionEnabled", False)),
            "readerAcl": {"enabled": False, "users": []},
            "writerAcl": {"enabled": False, "users": []},
        }

    def _subscribe(
        self, handler: _Handler, topic: str, group: str, consumer: str, query: dict[str, str]
    ) -> None:
        """Serve one long-poll GET with commit-on-write semantics."""
        timeout = self._poll_timeout(query.get("timeout"))
        limit = _int_or(query.get("limit"), 0)
        limit = TOP_LIMIT if limit <= 0 else min(limit, TOP_LIMIT)
        ident = (topic, group, consumer)
        self._enter_consumer(ident)
        try:
            start, batch = self._wait_for_batch(topic, group, timeout, limit)
            committed = False
            try:
                handler.send_json(200, [record.text for record in batch])
                committed = True
            finally:
                self._finish_batch(topic, group, start, len(batch), committed)
        finally:
            with self._cond:
                self._active_consumers.discard(ident)

    def _poll_timeout(self, raw_timeout: str | None) -> float:
        """Return the long-poll wait in seconds, capped at ``max_poll_seconds``."""
        millis = _int_or(raw_timeout, DEFAULT_POLL_TIMEOUT_MS)
        return min(max(millis, 0) / 1000.0, self.max_poll_seconds)

    def _enter_consumer(self, ident: tuple[str, str, str]) -> None:
        """404 on unknown topic, 409 if this consumer id already has a GET in flight."""
        with self._cond:
            if ident[0] not in self._topics:
                raise MRError(404, 3001, f"No such topic exists.-[{ident[0]}]")
            if ident in self._active_consumers:
                raise MRError(
                    409,
                    5012,
                    "Concurrent requests on the same consumer id: "
                    "only one GET per consumer id at a time.",
                )
            self._active_consumers.add(ident)
            self._offsets.setdefault((ident[0], ident[1]), len(self._topics[ident[0]]))

    def _wait_for_batch(
        self, topic: str, group: str, timeout: float, limit: int
    ) -> tuple[int, list[Record]]:
        """Wait until the group has unread messages (or timeout); reserve up to ``limit``."""
        deadline = time.monotonic() + timeout
        gkey = (topic, group)
        with self._cond:
            epoch = self._epoch
            while True:
                messages = self._topics.get(topic, [])
                offset = self._offsets.setdefault(gkey, len(messages))
                if offset < len(messages) and gkey not in self._busy_groups:
                    self._busy_groups.add(gkey)
                    return offset, messages[offset : offset + limit]
                if epoch != self._epoch or self._halt.is_set():
                    raise _ConnectionReset  # the "process" died mid-poll
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return offset, []
                self._cond.wait(remaining)

    def _finish_batch(
        self, topic: str, group: str, start: int, count: int, committed: bool
    ) -> None:
        """Commit the group offset if the response was written; release the group."""
        if count == 0:
            return
        with self._cond:
            if committed:
                self._offsets[(topic, group)] = start + count
            self._busy_groups.discard((topic, group))
            self._cond.notify_all()


def _check_status(status: int) -> None:
    """Validate an injectable status."""
    if status not in INJECTABLE_STATUSES:
        raise ValueError(
            f"status {status} not injectable; use one of {sorted(INJECTABLE_STATUSES)}"
        )


def _int_or(value: str | None, default: int) -> int:
    """Parse an int query value, falling back to ``default`` like MR's NumberUtils."""
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _maybe_json(text: str) -> Any:
    """Parse ``text`` as JSON, or return it unchanged."""
    try:
        return json.loads(text)
    except ValueError:
        return text
