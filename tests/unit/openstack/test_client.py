"""The OpenStack client seam: URLs, TLS options, error translation, the pooled HTTP session."""

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from keystoneauth1 import exceptions as ks_exc

from multicloud import exceptions
from multicloud.conf import GREEN_THREADS, get_settings
from multicloud.exceptions import (
    BadRequest,
    Conflict,
    Forbidden,
    GatewayTimeout,
    MulticloudError,
    NotFound,
    ServiceUnavailable,
    UpstreamError,
)
from multicloud.openstack import client

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize(
    "url",
    [
        "http://k:5000",
        "http://k:5000/",
        "http://k:5000/v3",
        "http://k:5000/v2.0/",
        "http://k:5000/v3/",
    ],
)
def test_the_keystone_url_always_ends_in_v3(url):
    assert client.keystone_v3_url(url) == "http://k:5000/v3"


def test_tls_is_verified_by_default():
    assert client.verify_option(False, "") is True


def test_ssl_insecure_turns_verification_off():
    assert client.verify_option(True, PEM) is False


def test_a_region_ca_certificate_becomes_a_private_bundle_file(settings_data_dir):
    path = client.verify_option(False, PEM)
    assert open(path).read() == PEM
    assert client.verify_option(False, PEM) == path


@pytest.fixture
def settings_data_dir(tmp_path, override_settings):
    override_settings(MULTICLOUD_DATA_DIR=str(tmp_path), MULTICLOUD_CLOUD_TIMEOUT="5")
    return tmp_path


@pytest.mark.parametrize(
    ("raised", "expected", "code"),
    [
        (ks_exc.NotFound(message="gone"), exceptions.NotFound, 404),
        (ks_exc.BadRequest(message="bad"), exceptions.BadRequest, 400),
        (ks_exc.Conflict(message="busy"), exceptions.Conflict, 409),
        (ks_exc.Forbidden(message="no"), exceptions.Forbidden, 403),
        (ks_exc.Unauthorized(message="who"), exceptions.UpstreamError, 502),
        (ks_exc.InternalServerError(message="boom"), exceptions.UpstreamError, 502),
        (ks_exc.ConnectFailure("refused"), exceptions.ServiceUnavailable, 503),
        (ks_exc.ConnectTimeout("slow"), exceptions.GatewayTimeout, 504),
        (ks_exc.EndpointNotFound("no image"), exceptions.UpstreamError, 502),
    ],
)
def test_keystoneauth_errors_become_ours(raised, expected, code):
    with pytest.raises(expected) as caught, client.translate_errors("the cloud"):
        raise raised
    assert caught.value.code == code
    assert caught.value.message.startswith(("the cloud", "cannot reach the cloud"))


# --------------------------------------------------------------------------- call / cloud_error


def reply(status: int, body) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer.headers["Content-Type"] = "application/json"
    return answer


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"conflictingRequest": {"message": "Cannot 'stop' instance", "code": 409}}, "Cannot"),
        ({"NeutronError": {"type": "NetworkInUse", "message": "in use", "detail": ""}}, "in use"),
        ({"error": {"code": 404, "title": "Not Found", "message": "no such"}}, "no such"),
        ({"errors": [{"title": "Conflict", "detail": "placement says"}]}, "placement says"),
        (b"plain text failure", "plain text failure"),
    ],
)
def test_the_clouds_own_message_is_kept(body, message):
    assert client._cloud_message(reply(409, body)).startswith(message)


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (400, "bad", BadRequest),
        (403, "Quota exceeded for cores", Conflict),
        (413, "OverLimit", Conflict),
        (403, "Policy does not allow", Forbidden),
        (404, "gone", NotFound),
        (409, "in use", Conflict),
        (400, "Invalid volume: Volume status must be available or error", Conflict),
        (400, "Invalid input received: size", BadRequest),
        (422, "odd", BadRequest),
        (500, "boom", UpstreamError),
        (503, "down", ServiceUnavailable),
        (504, "slow", GatewayTimeout),
    ],
)
def test_each_status_maps_to_one_error(status, message, error):
    found = client.cloud_error(status, message, "the compute service of a_b")
    assert type(found) is error and message in found.message
    assert found.extra["upstream_status"] == status


def test_refused_registered_credentials_are_502_without_the_clouds_text():
    found = client.cloud_error(401, "The request you have made requires authentication.", "x")
    assert found.code == 502 and "registered credentials" in found.message


def test_credentials_never_show_their_password():
    creds = client.Credentials(
        "http://k/v3", "admin", "s3cret-pw", "admin", None, "Default", True, None
    )
    assert "s3cret-pw" not in repr(creds) and "admin" in repr(creds)


def test_sessions_are_reused_per_region_and_project_and_scoped_to_that_project(
    settings_data_dir,
):
    from multicloud.vims.models import CloudRegion

    region = CloudRegion(
        cloud_owner="o",
        cloud_region_id="r",
        identity_url="http://k:5000/v2.0",
        username="u",
        default_tenant="admin",
        cloud_domain="Dom",
    )
    region.password = "p"
    project_id = "0123456789abcdef0123456789abcdef"
    by_name = client.session_for(region, **client.project_scope("demo"))
    by_id = client.session_for(region, **client.project_scope(project_id))
    assert client.session_for(region, **client.project_scope("demo")) is by_name
    assert by_id is not by_name and by_id.session is by_name.session is client.http_session()
    assert (by_name.auth.project_name, by_name.auth.project_domain_name) == ("demo", "Dom")
    assert by_id.auth.project_id == project_id and by_id.auth.auth_url == "http://k:5000/v3"
    assert by_name.timeout == 5.0


# ------------------------------------------------------------------------- the pooled HTTP session


class _KeepAlive(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections: set[int] = set()
    gate = threading.Barrier(1)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        type(self).connections.add(id(self.connection))
        try:
            self.gate.wait(timeout=5)
        except threading.BrokenBarrierError:
            pass
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", "sticky=caller-a; Path=/")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _serving(handler):
    """A loopback HTTP server of ``handler`` in a thread: its URL, then it stops."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def upstream():
    _KeepAlive.connections = set()
    yield from _serving(_KeepAlive)


def test_the_pool_holds_the_worker_concurrency():
    settings = get_settings()
    expected = settings.threads if settings.web_framework == "django" else GREEN_THREADS
    assert client.pool_size() == expected + client.POOL_SPARE
    assert client.http_session().pool_size == client.pool_size()


def test_every_session_of_a_worker_shares_one_pooled_http_session():
    plain = client.plain_session(True)
    creds = client.Credentials("http://k/v3", "u", "p", "admin", None, "Default", True, None)
    assert plain.session is client.http_session()
    assert client.new_session(creds).session is client.http_session()


def test_concurrent_calls_reuse_connections_without_pool_warnings(upstream, caplog):
    """As many calls at once as the pool holds: none discarded, all reused afterwards."""
    session = client.HttpSession(pool_size=20)
    _KeepAlive.gate = threading.Barrier(20)
    plain = client.plain_session(True)
    plain_of = type(plain)(session=session, verify=True, timeout=10)

    def call(_):
        reply = client.send(plain_of, "GET", f"{upstream}/x", headers={}, stream=False)
        return reply.status_code

    with caplog.at_level(logging.WARNING, logger="urllib3"):
        with ThreadPoolExecutor(20) as pool:
            assert set(pool.map(call, range(20))) == {200}
        _KeepAlive.gate = threading.Barrier(1)
        with ThreadPoolExecutor(20) as pool:
            assert set(pool.map(call, range(100))) == {200}
    assert "Connection pool is full" not in caplog.text
    assert len(_KeepAlive.connections) == 20  # the 100 later calls opened none


def test_cookies_from_one_answer_never_ride_along_with_the_next(upstream):
    session = client.HttpSession(pool_size=2)
    session.get(f"{upstream}/a", timeout=5)
    assert len(session.cookies) == 0


def test_environment_proxies_are_honoured_once_per_host(monkeypatch):
    monkeypatch.setenv("https_proxy", "http://proxy.invalid:3128")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    session = client.HttpSession(pool_size=2)
    far = session.merge_environment_settings("https://cloud.invalid/v3", {}, True, True, None)
    near = session.merge_environment_settings("https://127.0.0.1/v3", {}, True, True, None)
    assert far["proxies"]["https"] == "http://proxy.invalid:3128"
    assert "https" not in near["proxies"]
    monkeypatch.setenv("https_proxy", "http://changed.invalid:1")
    again = session.merge_environment_settings("https://cloud.invalid/v3", {}, True, True, None)
    assert again == far


class _Recorder(BaseHTTPRequestHandler):
    """Answers 200 and records each request's framing headers and body as received."""

    protocol_version = "HTTP/1.1"
    seen: list[dict] = []

    def _record(self):
        framing = {k.lower(): v for k, v in self.headers.items()}
        if framing.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                body += self.rfile.read(size)
                self.rfile.readline()
                if size == 0:
                    break
        else:
            body = self.rfile.read(int(framing.get("content-length", 0)))
        type(self).seen.append({**framing, "body": body})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = do_DELETE = _record  # noqa: N815 (http.server's naming)

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    _Recorder.seen = []
    yield from _serving(_Recorder)


def _sized(parts: list[bytes]):
    class Sized:
        def __len__(self):
            return sum(map(len, parts))

        def __iter__(self):
            return iter(parts)

    return Sized()


@pytest.mark.parametrize(
    ("method", "data", "length", "chunked", "body"),
    [
        ("GET", None, None, False, b""),
        ("POST", None, "0", False, b""),
        ("DELETE", None, "0", False, b""),
        ("PUT", b"", "0", False, b""),
        ("POST", b'{"a": 1}', "8", False, b'{"a": 1}'),
        ("PUT", _sized([b"ab", b"cd"]), "4", False, b"abcd"),
        ("PUT", iter([b"ab", b"", b"cd"]), None, True, b"abcd"),
    ],
)
def test_the_raw_exchange_frames_bodies_as_requests_does(
    recorder, method, data, length, chunked, body
):
    plain = client.plain_session(True)
    reply = client.send(
        plain, method, f"{recorder}/x?y=1", headers={"X-Test": "1"}, data=data, stream=False
    )
    assert reply.status_code == 200
    (seen,) = _Recorder.seen
    assert seen.get("content-length") == length
    assert (seen.get("transfer-encoding") == "chunked") is chunked
    assert seen["body"] == body
    assert seen["x-test"] == "1"
    # NOTE: the session's defaults under the caller's headers, as requests' Session sends them.
    assert seen["user-agent"].startswith("python-requests/")
    assert seen["accept"] == "*/*"


def test_the_raw_exchange_keeps_the_caller_s_headers_over_the_defaults(recorder):
    plain = client.plain_session(True)
    client.send(plain, "GET", f"{recorder}/x", headers={"Accept": "application/json"}, stream=False)
    assert _Recorder.seen[0]["accept"] == "application/json"


@pytest.mark.parametrize(
    "raised, expected",
    [
        # NOTE: Glance's "data does not match the declared disk format", through keystoneauth
        (ks_exc.HttpError(http_status=415, message="bad format"), (400, "bad format")),
        (ks_exc.HttpError(http_status=409, message="busy"), (409, "busy")),
        (ks_exc.HttpError(http_status=500, message="boom"), (502, "boom")),
        (ks_exc.ConnectFailure("refused"), (500, "cannot reach the image service")),
    ],
)
def test_image_service_errors_from_keystoneauth_become_ours(raised, expected):
    with pytest.raises(MulticloudError) as caught:
        with client.translate_glance_errors("the image service"):
            raise raised
    assert caught.value.code == expected[0] and expected[1] in caught.value.message
