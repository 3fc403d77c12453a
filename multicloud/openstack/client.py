"""The one seam between this service and OpenStack APIs.

Sessions are keystoneauth1 v3 password sessions built from a cloud region's
record (domain, region name, TLS verification from ``ssl-insecure`` /
``ssl-cacert``) and cached per (region, project, credentials fingerprint), never
per region alone. keystoneauth exceptions become ours here, in
:func:`translate_errors`, not in handlers.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

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

if TYPE_CHECKING:
    from multicloud.vims.models import CloudRegion

log = logging.getLogger(__name__)

MAX_CACHED_SESSIONS = 256


@dataclass(frozen=True)
class Credentials:
    """What it takes to authenticate against a region's Keystone."""

    auth_url: str
    username: str
    password: str
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


def verify_option(ssl_insecure: bool, ssl_cacert: str) -> bool | str:
    """requests' ``verify``: False, True, or the path of the region's CA bundle."""
    if ssl_insecure:
        return False
    if not ssl_cacert.strip():
        return True
    digest = hashlib.sha256(ssl_cacert.encode()).hexdigest()[:16]
    path = get_settings().data_dir / "cacerts" / f"{digest}.pem"
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
    return Session(auth=auth, verify=creds.verify, timeout=get_settings().cloud_timeout)


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


_plain_lock = threading.Lock()
_plain_sessions: dict[str, ks_session.Session] = {}


def plain_session(verify: bool | str) -> ks_session.Session:
    """An unauthenticated session (the caller brings its own token), one per TLS option."""
    key = str(verify)
    with _plain_lock:
        found = _plain_sessions.get(key)
        if found is None:
            found = _plain_sessions[key] = Session(
                verify=verify, timeout=get_settings().cloud_timeout
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
    with translate_errors(what):
        return session.request(
            url,
            method,
            headers=headers,
            data=data,
            stream=stream,
            authenticated=False,
            raise_exc=False,
            redirect=False,
            log=False,
            connect_retries=0,
            metrics_service=metrics.service_label(service),
        )


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
            f"the identity service at {creds.auth_url} rejected the credentials "
            f"(user {creds.username!r}, project {creds.project_name or creds.project_id!r})"
        ) from None
    except ks_exc.SSLError as exc:
        raise BadRequest(f"TLS verification of {creds.auth_url} failed: {exc}") from None
    except (ks_exc.ConnectFailure, ks_exc.ConnectTimeout, ks_exc.DiscoveryFailure):
        # NOTE: no transport detail: its wording differs between the two serving modes.
        raise BadRequest(f"cannot reach the identity service at {creds.auth_url}") from None
    except ks_exc.ClientException as exc:
        raise BadRequest(f"the identity service at {creds.auth_url} failed: {exc}") from None
    return {
        "project_id": access.project_id,
        "services": sorted({entry.get("type") for entry in access.service_catalog.catalog}),
    }


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
        raise UpstreamError(f"{what}: {exc}") from None


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
    return glanceclient.Client(
        "2",
        session=session,
        region_name=region.openstack_region_id or None,
        interface="public",
    )


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
