"""The one seam between this service and OpenStack APIs.

Sessions are keystoneauth1 v3 password sessions built from a cloud region's
record (domain, region name, TLS verification from ``ssl-insecure`` /
``ssl-cacert``) and cached per (region, project, credentials fingerprint), never
per region alone. keystoneauth exceptions become ours here, in
:func:`translate_errors`, not in handlers.

Every session of a worker sends through one ``requests.Session``
(:func:`http_session`) whose connection pools are sized to the worker's
concurrency, so upstream connections are kept alive and reused across regions,
projects and tokens instead of being opened per session and thrown away when
more requests run at once than a pool holds.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import requests
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from requests.structures import CaseInsensitiveDict

from multicloud import metrics, transaction
from multicloud.conf import get_settings
from multicloud.exceptions import (
    BadRequest,
    Conflict,
    Forbidden,
    GatewayTimeout,
    MulticloudError,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    UpstreamError,
    UpstreamUnreachable,
)
from multicloud.openstack import allowlist

if TYPE_CHECKING:
    from multicloud.vims.models import CloudRegion

log = logging.getLogger(__name__)

MAX_CACHED_SESSIONS = 256
#: Hosts (scheme, host, port) whose connection pools a worker keeps.
POOL_HOSTS = 64
#: Connections per host beyond the worker's concurrency: discovery threads, the capacity
#: fan-out and image upload followers call clouds beside the request threads. One
#: check_vim_capacity asks up to 16 regions at once (multicloud/capacity/fanout.py), and
#: regions registered on one cloud share its hosts, so a full fan-out beside every request
#: thread still finds a free connection (never "Connection pool is full").
POOL_SPARE = 24
#: Distinct (host, TLS option) environment lookups remembered.
MAX_ENV_SETTINGS = 1024


class HttpSession(requests.Session):
    """The ``requests.Session`` under every cloud call of a worker.

    Pools of ``pool_size`` connections per host (TCP keep-alive on, as keystoneauth
    sets it), cookies never stored (the session is shared by every caller of every
    region), and the environment's proxy and CA bundle settings resolved once per
    host instead of once per request.
    """

    def __init__(self, pool_size: int):
        super().__init__()
        # NOTE: requests reads the environment (every variable, for proxies) and
        # ~/.netrc on every request when trust_env is on: about a tenth of a proxied
        # call's CPU. The environment does not change while a worker runs, so a plain
        # session resolves it once per host below; netrc credentials are never sent
        # (clouds get tokens, not Basic auth).
        self.trust_env = False
        self._environment_source = requests.Session()
        self.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        for scheme in ("https://", "http://"):
            self.mount(
                scheme,
                allowlist.GuardedAdapter(pool_connections=POOL_HOSTS, pool_maxsize=pool_size),
            )
        self.pool_size = pool_size
        self._environment: dict[tuple, dict[str, Any]] = {}

    def merge_environment_settings(self, url, proxies, stream, verify, cert):  # noqa: ANN001
        parts = urlsplit(url)
        key: tuple = (parts.scheme, parts.netloc, tuple(sorted((proxies or {}).items())), stream)
        key += (verify, tuple(cert) if isinstance(cert, list) else cert)
        found: Any = self._environment.get(key)
        if found is None:
            found = self._environment_source.merge_environment_settings(
                url, proxies, stream, verify, cert
            )
            if len(self._environment) < MAX_ENV_SETTINGS:
                self._environment[key] = found
        return {**found, "proxies": dict(found["proxies"])}


_http_lock = threading.Lock()
_http: list[tuple[int, HttpSession]] = []


def pool_size() -> int:
    """Connections kept per upstream host: the worker's concurrency plus spares."""
    return get_settings().concurrency + POOL_SPARE


def http_session() -> HttpSession:
    """This process's pooled HTTP session (a forked worker makes its own)."""
    found = _http[0] if _http else None
    if found is not None and found[0] == os.getpid():
        return found[1]
    with _http_lock:
        if not _http or _http[0][0] != os.getpid():
            _http[:] = [(os.getpid(), HttpSession(pool_size()))]
        return _http[0][1]


@dataclass(frozen=True)
class Credentials:
    """What it takes to authenticate against a region's Keystone."""

    auth_url: str
    username: str
    password: str = field(repr=False)
    project_name: str | None
    project_id: str | None
    domain: str
    verify: bool | str
    region_name: str | None

    def fingerprint(self) -> str:
        raw = "\0".join(
            str(v)
            for v in (
                self.auth_url,
                self.username,
                self.password,
                self.project_name,
                self.project_id,
                self.domain,
                self.verify,
                self.region_name,
            )
        )
        return hashlib.sha256(raw.encode()).hexdigest()


def keystone_v3_url(service_url: str) -> str:
    """The Keystone v3 endpoint for a region's ``service-url`` (any version suffix)."""
    url = service_url.rstrip("/")
    for suffix in ("/v3", "/v2.0"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url + "/v3"


def cacert_path(ssl_cacert: str) -> Path:
    """Where a region's CA bundle is kept (named by its digest, shared by equal bundles)."""
    digest = hashlib.sha256(ssl_cacert.encode()).hexdigest()[:16]
    return get_settings().data_dir / "cacerts" / f"{digest}.pem"


def verify_option(ssl_insecure: bool, ssl_cacert: str) -> bool | str:
    """requests' ``verify``: False, True, or the path of the region's CA bundle."""
    if ssl_insecure:
        return False
    if not ssl_cacert.strip():
        return True
    path = cacert_path(ssl_cacert)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(f"{path}.{threading.get_ident()}")
        tmp.write_text(ssl_cacert)
        tmp.replace(path)
    return str(path)


def project_scope(tenant: str) -> dict[str, str]:
    """``project_id`` for a Keystone id (32 hex digits), else ``project_name``.

    The one rule for a tenant given by id or name (image routes, the ``Project`` header).
    """
    is_id = len(tenant) == 32 and all(c in "0123456789abcdef" for c in tenant.lower())
    return {"project_id": tenant} if is_id else {"project_name": tenant}


def credentials(
    region: CloudRegion, project_name: str | None = None, project_id: str | None = None
) -> Credentials:
    """Admin credentials of ``region``, scoped to a project (default: its default tenant)."""
    if project_name is None and project_id is None:
        project_name = region.default_tenant
    return Credentials(
        auth_url=keystone_v3_url(region.identity_url),
        username=region.username,
        password=region.password,
        project_name=project_name,
        project_id=project_id,
        domain=region.cloud_domain or "Default",
        verify=verify_option(region.ssl_insecure, region.ssl_cacert),
        region_name=region.openstack_region_id or None,
    )


class Session(ks_session.Session):
    """A keystoneauth session that counts and times every call and sends the ONAP ids.

    Every OpenStack call of this service goes through one of these (made by
    :func:`new_session` and :func:`plain_session`): the request's ONAP headers and
    ``X-OpenStack-Request-ID`` (a global request id Nova and Keystone log) ride along.
    """

    def request(self, url: str, method: str, **kwargs: Any) -> Any:  # type: ignore[override]
        service = kwargs.pop("metrics_service", None) or _service_of(kwargs)
        kwargs["headers"] = transaction.add_outgoing(kwargs.get("headers"))
        sent = {name.lower() for name in kwargs["headers"]}
        if kwargs.get("global_request_id") is None and "x-openstack-request-id" not in sent:
            kwargs["global_request_id"] = transaction.openstack_request_id()
        with metrics.upstream_call(service) as call:
            try:
                reply = super().request(url, method, **kwargs)
            except ks_exc.HttpError as exc:
                call.status = exc.http_status
                raise
            call.status = reply.status_code
            return reply


def _service_of(kwargs: dict[str, Any]) -> str:
    """The service label of a call: its catalog service type, else Keystone (auth, discovery)."""
    endpoint_filter = kwargs.get("endpoint_filter") or {}
    return metrics.service_label(endpoint_filter.get("service_type"))


def new_session(creds: Credentials) -> ks_session.Session:
    scope: dict[str, Any] = (
        {"project_id": creds.project_id}
        if creds.project_id
        else {"project_name": creds.project_name, "project_domain_name": creds.domain}
    )
    auth = v3.Password(
        auth_url=creds.auth_url,
        username=creds.username,
        password=creds.password,
        user_domain_name=creds.domain,
        **scope,
    )
    return Session(
        auth=auth,
        session=http_session(),
        verify=creds.verify,
        timeout=get_settings().cloud_timeout,
    )


class _SessionCache:
    """A bounded LRU of sessions; a session re-authenticates when its token expires."""

    def __init__(self, size: int):
        self.size = size
        self.lock = threading.Lock()
        self.items: OrderedDict[str, ks_session.Session] = OrderedDict()

    def get(self, key: str, creds: Credentials) -> ks_session.Session:
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
                return found
            created = self.items[key] = new_session(creds)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
            return created


_sessions = _SessionCache(MAX_CACHED_SESSIONS)


def session_for(
    region: CloudRegion, project_name: str | None = None, project_id: str | None = None
) -> ks_session.Session:
    """A (cached) session with the region's credentials, scoped to a project."""
    creds = credentials(region, project_name, project_id)
    key = f"{region.vim_id}\0{creds.fingerprint()}"
    return _sessions.get(key, creds)


def adapter(
    region: CloudRegion,
    service_type: str,
    project_name: str | None = None,
    project_id: str | None = None,
    **kwargs: Any,
) -> ks_adapter.Adapter:
    """A keystoneauth adapter for one service of the region (public interface)."""
    return ks_adapter.Adapter(
        session_for(region, project_name, project_id),
        service_type=service_type,
        interface=kwargs.pop("interface", "public"),
        region_name=region.openstack_region_id or None,
        **kwargs,
    )


#: Chunk size of request bodies streamed upstream.
BODY_CHUNK = 256 * 1024


def streamed_body(stream: Any, length: int | None) -> Iterable[bytes]:
    """``stream`` (``read(size)``) as body chunks, never read whole.

    With a known ``length`` requests sends ``Content-Length`` (the iterable has a
    ``len()``); without one, the body goes chunked until ``stream`` ends.
    """
    if length is None:
        return iter(lambda: stream.read(BODY_CHUNK), b"")
    return _SizedBody(stream, length)


class _SizedBody:
    """A body of known length, read in :data:`BODY_CHUNK` pieces (stops early at EOF)."""

    def __init__(self, stream: Any, length: int):
        self.stream = stream
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        left = self.length
        while left > 0:
            chunk = self.stream.read(min(BODY_CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


_plain_lock = threading.Lock()
_plain_sessions: dict[str, ks_session.Session] = {}


def plain_session(verify: bool | str) -> ks_session.Session:
    """An unauthenticated session (the caller brings its own token), one per TLS option."""
    key = str(verify)
    with _plain_lock:
        found = _plain_sessions.get(key)
        if found is None:
            found = _plain_sessions[key] = Session(
                session=http_session(), verify=verify, timeout=get_settings().cloud_timeout
            )
        return found


def send(
    session: ks_session.Session,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    data: Any = None,
    stream: bool = True,
    what: str = "the cloud",
    service: str | None = None,
) -> Any:
    """One raw HTTP exchange: no retries, no redirects followed, no logging (tokens ride along).

    Returns the ``requests.Response`` whatever its status; connection failures and
    timeouts become our errors. With ``stream`` the caller must close the response.
    ``service`` (a proxy service name such as ``nova``) labels the call's metrics.
    """
    # NOTE: straight to the pooled session's adapter (:func:`_exchange`): keystoneauth's
    # request machinery (user agent, retries, logging, discovery hooks), all switched off
    # here, still cost about a third of a proxied call's CPU, and requests' own session
    # layer half of what was left. keystoneauth's exception types are kept.
    with translate_errors(what):
        headers = transaction.add_outgoing(headers)
        if "x-openstack-request-id" not in {name.lower() for name in headers}:
            request_id = transaction.openstack_request_id()
            if request_id:
                headers["X-OpenStack-Request-ID"] = request_id
        with metrics.upstream_call(metrics.service_label(service)) as call:
            try:
                reply = _exchange(
                    session.session,
                    method,
                    url,
                    headers,
                    data,
                    stream,
                    session.verify,
                    session.cert,
                    session.timeout,
                )
                call.status = reply.status_code
                return reply
            except requests.exceptions.SSLError as exc:
                raise ks_exc.SSLError(f"SSL exception connecting to {url}: {exc}") from None
            except requests.exceptions.Timeout:
                raise ks_exc.ConnectTimeout(f"Request to {url} timed out") from None
            except requests.exceptions.ConnectionError as exc:
                raise ks_exc.ConnectFailure(
                    f"Unable to establish connection to {url}: {exc}"
                ) from None
            except requests.exceptions.RequestException as exc:
                message = f"Unexpected exception for {url}: {exc}"
                raise ks_exc.UnknownConnectionError(message, exc) from None


def _exchange(
    http: requests.Session,
    method: str,
    url: str,
    headers: dict[str, str],
    data: Any,
    stream: bool,
    verify: Any,
    cert: Any,
    timeout: Any,
) -> requests.Response:
    """Send one request through ``http``'s adapter for ``url``; redirects are not followed.

    NOTE: requests' ``Session.request`` (preparing the URL and headers, merging settings,
    cookies and hooks) cost about half of the client side of a proxied call. The adapter
    alone keeps what matters: the pooled connections, TLS, proxies, the allow-list check
    (``GuardedAdapter``) and requests' exception types. The URL is sent as it is (the
    proxy built and quoted it), with the session's default headers under the caller's,
    framed as requests frames it (``Content-Length`` when the body's length is known,
    chunked otherwise, 0 for a body-less method other than GET and HEAD).
    """
    settings = http.merge_environment_settings(url, {}, stream, verify, cert)
    request = requests.PreparedRequest()
    request.method = method
    request.url = url
    request.headers = CaseInsensitiveDict(cast("dict[str, str]", http.headers))
    request.headers.update(headers)
    if isinstance(data, str):
        data = data.encode()
    request.body = data
    request.hooks = {"response": []}
    if data is None:
        if method not in ("GET", "HEAD"):
            request.headers["Content-Length"] = "0"
    elif hasattr(data, "__len__"):
        request.headers["Content-Length"] = str(len(data))
    reply = http.get_adapter(url).send(
        request,
        stream=stream,
        timeout=timeout,
        verify=True if settings["verify"] is None else settings["verify"],
        cert=settings["cert"],
        proxies=settings["proxies"],
    )
    if not stream:
        reply.content  # noqa: B018 - read whole now, as requests does when not streaming
    return reply


def token_access(session: ks_session.Session) -> Any:
    """The token (keystoneauth ``AccessInfo``) of an authenticated session, fetched if needed."""
    return session.auth.get_access(session)  # type: ignore[union-attr]


def check_credentials(creds: Credentials) -> dict[str, Any]:
    """Authenticate once; 400 with the reason when the cloud is unreachable or says no.

    Returns what the token says: the project id and the catalog's service types.
    """
    session = new_session(creds)
    try:
        access = token_access(session)
    except ks_exc.Unauthorized:
        raise BadRequest(
            "the identity service rejected the credentials "
            f"(user {creds.username!r}, project {creds.project_name or creds.project_id!r})"
        ) from None
    except ks_exc.ClientException as exc:
        # NOTE: the reason is logged, not returned: transport details (refused,
        # timed out, a banner, a certificate subject) would make registration a
        # scanner of the service's network (H1 of the security audit).
        log.warning("credential check at registration failed: %s", exc)
        raise BadRequest(f"the identity service cannot be used: {_reason(exc)}") from None
    return {
        "project_id": access.project_id,
        "services": sorted({entry.get("type") for entry in access.service_catalog.catalog}),
    }


def _reason(exc: Exception) -> str:
    if isinstance(exc, ks_exc.SSLError):
        return "TLS verification failed"
    if isinstance(exc, ks_exc.ConnectTimeout | ks_exc.ConnectFailure):
        return "it cannot be reached"
    return "it did not answer as a Keystone v3 service"


_BY_STATUS: dict[int, type[MulticloudError]] = {
    400: BadRequest,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
}


@contextmanager
def translate_errors(what: str = "the cloud") -> Iterator[None]:
    """Turn keystoneauth exceptions raised inside the block into our errors."""
    try:
        yield
    except ks_exc.EndpointNotFound as exc:
        raise UpstreamError(f"{what}: no such endpoint in the catalog ({exc})") from None
    except ks_exc.Unauthorized:
        raise UpstreamError(
            f"{what} rejected the registered credentials", upstream_status=401
        ) from None
    except ks_exc.HttpError as exc:
        error = _BY_STATUS.get(exc.http_status)
        detail = f"{what}: {exc.message or exc.details or exc}"
        if error is not None:
            raise error(detail, upstream_status=exc.http_status) from None
        raise UpstreamError(detail, upstream_status=exc.http_status) from None
    except ks_exc.ConnectTimeout:
        raise GatewayTimeout(f"{what} did not answer in time") from None
    except ks_exc.ConnectFailure:
        raise ServiceUnavailable(f"cannot reach {what}") from None
    except ks_exc.ClientException as exc:
        # NOTE: the detail (addresses, errno, TLS subjects) goes to the log only (M4).
        log.warning("%s failed: %s", what, exc)
        raise UpstreamError(f"{what} failed") from None


# --------------------------------------------------------------------------- image service


def glance_for(region: CloudRegion, tenant: str) -> Any:
    """A python-glanceclient v2 client for ``tenant`` of ``region``, authenticated now.

    Authenticating first turns an unknown project into 404 before any byte is read.
    """
    import glanceclient

    session = session_for(region, **project_scope(tenant))
    with translate_glance_errors(f"the identity service of {region.vim_id}"):
        try:
            session.get_token()
        except ks_exc.Unauthorized:
            _unknown_project_or_credentials(region, tenant)
    region_name = region.openstack_region_id or None
    key = (id(session), region_name)
    with _glance_lock:
        found = _glance_clients.get(key)
        if found is not None and found[0] is session:
            _glance_clients.move_to_end(key)
            return found[1]
    # NOTE: one client per cached session, kept: glanceclient fetches the image schema
    # once per client (a Glance round trip on every create and get of a new client).
    made = glanceclient.Client("2", session=session, region_name=region_name, interface="public")
    with _glance_lock:
        _glance_clients[key] = (session, made)
        while len(_glance_clients) > MAX_CACHED_SESSIONS:
            _glance_clients.popitem(last=False)
    return made


_glance_lock = threading.Lock()
#: (id of a cached session, region name) → (that session, its glanceclient client)
_glance_clients: OrderedDict[tuple[int, str | None], tuple[Any, Any]] = OrderedDict()


def _unknown_project_or_credentials(region: CloudRegion, tenant: str) -> None:
    """A scoped login failed: 404 if the default project works (so ``tenant`` is wrong)."""
    try:
        session_for(region).get_token()
    except ks_exc.Unauthorized:
        raise UpstreamError(
            f"the identity service of {region.vim_id} rejected the registered credentials",
            upstream_status=401,
        ) from None
    raise NotFound(f"project {tenant!r} not found in cloud region {region.vim_id}")


@contextmanager
def translate_glance_errors(what: str = "the image service") -> Iterator[None]:
    """glanceclient and keystoneauth exceptions inside the block become ours.

    The image API contract answers 500 when the image service cannot be
    reached, so connection failures become :class:`UpstreamUnreachable`.
    """
    from glanceclient import exc as g_exc

    try:
        with translate_errors(what):
            yield
    except (ServiceUnavailable, GatewayTimeout) as exc:
        raise UpstreamUnreachable(exc.message) from None
    except UpstreamError as exc:
        # NOTE: Glance answers 415 when the data does not match the declared disk format.
        if exc.extra.get("upstream_status") == 415:
            raise BadRequest(exc.message, upstream_status=415) from None
        raise
    except (g_exc.CommunicationError, g_exc.InvalidEndpoint):
        raise UpstreamUnreachable(f"cannot reach {what}") from None
    except g_exc.HTTPException as exc:
        status = _glance_status(exc)
        # NOTE: Glance answers 415 when the data does not match the declared disk format.
        error = BadRequest if status == 415 else _BY_STATUS.get(status or 0)
        detail = f"{what}: {exc.details or exc}"
        if error is not None:
            raise error(detail, upstream_status=status) from None
        raise UpstreamError(detail, upstream_status=status) from None
    except g_exc.BaseException as exc:
        raise UpstreamError(f"{what}: {exc}") from None


def _glance_status(exc: Exception) -> int | None:
    """The HTTP status of a glanceclient error (unmapped codes only say it in the text)."""
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return code
    details = str(getattr(exc, "details", "") or "")
    head = details[:3]
    return int(head) if head.isdigit() else None


# --------------------------------------------------------------------------- typed resource APIs


def project_session(region: CloudRegion, tenant: str) -> tuple[ks_session.Session, str]:
    """The region's session scoped to ``tenant`` (a project id or name), and the project id.

    An unknown project is 404; refused registered credentials 502.
    """
    session = session_for(region, **project_scope(tenant))
    with translate_errors(f"the identity service of {region.vim_id}"):
        try:
            project_id = session.get_project_id()
        except ks_exc.Unauthorized:
            _unknown_project_or_credentials(region, tenant)
    if not project_id:
        raise UpstreamError(f"the identity service of {region.vim_id} gave a token with no project")
    return session, project_id


def service_adapter(
    session: ks_session.Session, region: CloudRegion, service_type: str, **kwargs: Any
) -> ks_adapter.Adapter:
    """A keystoneauth adapter for one service (public interface) over an existing session."""
    return ks_adapter.Adapter(
        session,
        service_type=service_type,
        interface="public",
        region_name=region.openstack_region_id or None,
        **kwargs,
    )


def call(
    service: ks_adapter.Adapter,
    method: str,
    path: str,
    *,
    what: str,
    json: Any = None,
    params: Any = None,
) -> Any:
    """One JSON call through an adapter: the decoded answer (None when empty).

    A cloud error becomes ours with the cloud's own message (see :func:`cloud_error`).
    """
    with translate_errors(what):
        reply = service.request(
            path, method, json=json, params=params, raise_exc=False, connect_retries=0
        )
    if reply.status_code >= 400:
        raise cloud_error(reply.status_code, _cloud_message(reply), what)
    if not reply.content:
        return None
    try:
        return reply.json()
    except ValueError:
        raise UpstreamError(f"{what} answered {reply.status_code} with a non-JSON body") from None


_QUOTA_WORDS = ("quota", "overlimit", "over limit", "exceeded")
#: How Cinder starts a 400 that refuses an operation in the resource's present state
#: (``InvalidVolume``/``InvalidSnapshot``: in-use, attached, still creating, ...).
_CINDER_STATE = ("Invalid volume:", "Invalid snapshot:")


def cloud_error(status: int, message: str, what: str) -> MulticloudError:
    """Our error for a cloud's HTTP error: 400/404/409 keep their meaning, 5xx is 502/503.

    NOTE: Nova refuses a create over quota with 403 (older releases 413); callers
    see every quota refusal as a 409 conflict, like Neutron's and Cinder's. Cinder
    refuses a state conflict (deleting an attached volume) with 400 where Nova and
    Neutron say 409; callers see 409 for all three.
    """
    detail = f"{what}: {message}"
    if status in (403, 413) and any(word in message.lower() for word in _QUOTA_WORDS):
        return Conflict(detail, upstream_status=status)
    if status == 400 and message.startswith(_CINDER_STATE):
        return Conflict(detail, upstream_status=status)
    if status == 401:
        return UpstreamError(f"{what} rejected the registered credentials", upstream_status=401)
    if status == 503:
        return ServiceUnavailable(detail, upstream_status=status)
    if status == 504:
        return GatewayTimeout(detail, upstream_status=status)
    error = _BY_STATUS.get(status)
    if error is None and 400 <= status < 500:
        error = BadRequest
    return (error or UpstreamError)(detail, upstream_status=status)


def _cloud_message(reply: Any) -> str:
    """The message of an OpenStack error body (Nova, Neutron, Cinder, Keystone shapes)."""
    try:
        body = reply.json()
    except ValueError:
        return (reply.text or reply.reason or "").strip()[:500]
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, dict) and value.get("message"):
                return str(value["message"])
            if isinstance(value, list) and value and isinstance(value[0], dict):
                return str(value[0].get("detail") or value[0].get("title") or value[0])
        if body.get("message"):
            return str(body["message"])
    return str(body)[:500]
