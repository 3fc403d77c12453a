"""Every setting of the service, typed, read in one place.

Sources, later ones winning: built-in defaults, an optional TOML file named by
``MULTICLOUD_CONFIG_FILE`` (flat keys spelled like the environment variables),
then the process environment. A secret ``X`` may also be given as ``X_FILE``, a
path whose content is the value, so it never has to sit in the environment.

Nothing else in the code base reads ``os.environ``: call :func:`get_settings`.
A bad value raises :class:`ConfigError` naming the variable, and the entry
points turn that into a one-line message and a non-zero exit.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from multicloud.event_kinds import (
    DEFAULT_PHASES,
    DEFAULT_PREFER_FORMAT,
    KIND_NAMES,
    PHASE_NAMES,
    PREFER_FORMATS,
)
from multicloud.messaging_url import check_transport_url

BASE_DIR = Path(__file__).resolve().parent.parent

WEB_FRAMEWORKS = ("django", "pecan")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")


class ConfigError(ValueError):
    """A setting has a value the service cannot run with."""


@dataclasses.dataclass(frozen=True)
class Plugin:
    """An external Multicloud plugin serving one cloud type (some or all versions).

    ``url`` is the plugin's API root, e.g. ``http://vio:9004/api/multicloud-vio``;
    a request to ``/api/multicloud/v1/...`` is forwarded to ``{url}/v1/...``.
    """

    cloud_type: str
    url: str
    versions: tuple[str, ...] = ()

    def serves(self, cloud_type: str, version: str) -> bool:
        return cloud_type == self.cloud_type and (not self.versions or version in self.versions)


#: Green threads (concurrent requests) of one pecan-mode worker (pecan_app/server.py).
GREEN_THREADS = 1024


@dataclasses.dataclass(frozen=True)
class Settings:
    """The effective configuration; see README "Configuration" for each item."""

    web_framework: str
    host: str
    port: int
    workers: int
    threads: int
    backlog: int
    data_dir: Path
    database_url: str
    log_level: str
    log_format: str
    access_log: bool
    secret_key: str = dataclasses.field(repr=False)
    debug: bool
    allowed_hosts: tuple[str, ...]
    request_timeout: int
    encryption_keys: tuple[str, ...] = dataclasses.field(repr=False)
    cloud_timeout: float
    public_url: str
    plugins: tuple[Plugin, ...]
    events: EventsSettings
    images: ImagesSettings
    aai: AaiSettings
    auth: AuthSettings
    #: Where every worker keeps its Prometheus samples (multiprocess mode; run.sh sets it).
    metrics_dir: Path | None = None
    #: The directory run.sh gives the workers when PROMETHEUS_MULTIPROC_DIR is unset.
    metrics_dir_default: Path | None = None
    #: Who root becomes at start-up (``MULTICLOUD_RUN_AS``; empty: ``nobody``).
    run_as: str = ""

    @property
    def concurrency(self) -> int:
        """Requests one worker serves at once: its uWSGI threads, or its green threads."""
        return self.threads if self.web_framework == "django" else GREEN_THREADS

    @property
    def bind(self) -> str:
        """``host:port`` in the form servers accept (IPv6 hosts bracketed)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def listen_backlog(self) -> int:
        """``MULTICLOUD_BACKLOG`` capped by the kernel: what both modes' servers listen with."""
        return min(self.backlog, somaxconn())


def somaxconn() -> int:
    """The kernel's cap on a listen backlog (``net.core.somaxconn``; 4096 when unreadable)."""
    try:
        return int(Path("/proc/sys/net/core/somaxconn").read_text())
    except (OSError, ValueError):
        return 4096


def _text(raw: str) -> str:
    return raw.strip()


def _choice(options: tuple[str, ...], fold: Callable[[str], str] = str.lower):
    def parse(raw: str) -> str:
        value = fold(raw.strip())
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return value

    return parse


def _int_range(low: int, high: int):
    def parse(raw: str) -> int:
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise ValueError("must be an integer") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def _bool(raw: str) -> bool:
    value = str(raw).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _hosts(raw: str) -> tuple[str, ...]:
    hosts = tuple(h.strip() for h in str(raw).split(",") if h.strip())
    if not hosts:
        raise ValueError("must list at least one host name (or *)")
    return hosts


def _database_url(raw: str) -> str:
    value = raw.strip()
    scheme = value.split(":", 1)[0].lower()
    if scheme not in ("sqlite", "postgres", "postgresql", "pgsql"):
        raise ValueError("must be a sqlite:/// or postgresql:// URL")
    return value


class _Source:
    """Looks a name up in the environment, then the config file; parses it."""

    def __init__(self, environ: Mapping[str, str], file_values: Mapping[str, Any]):
        self.environ = environ
        self.file_values = file_values

    def raw(self, name: str) -> str | None:
        if name in self.environ:
            return self.environ[name]
        secret_path = self.environ.get(f"{name}_FILE") or self.file_values.get(f"{name}_FILE")
        if secret_path:
            return _read_secret_file(name, secret_path)
        if name in self.file_values:
            return str(self.file_values[name])
        return None

    def get(self, name: str, parse: Callable[[str], Any], default: Any) -> Any:
        raw = self.raw(name)
        if raw is None or (isinstance(raw, str) and raw.strip() == "" and default is not None):
            return default
        try:
            return parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{name}={raw!r}: {exc}") from None


def _read_secret_file(name: str, path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise ConfigError(f"{name}_FILE={path!r}: cannot read it ({exc.strerror})") from None


def _load_file(environ: Mapping[str, str]) -> dict[str, Any]:
    path = environ.get("MULTICLOUD_CONFIG_FILE")
    if not path:
        return {}
    try:
        with open(path, "rb") as handle:
            values = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(
            f"MULTICLOUD_CONFIG_FILE={path!r}: cannot read it ({exc.strerror})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"MULTICLOUD_CONFIG_FILE={path!r}: not valid TOML ({exc})") from None
    return {key.upper(): value for key, value in values.items()}


def _url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    if value and not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _plugins(raw: str) -> tuple[Plugin, ...]:
    """``MULTICLOUD_PLUGINS``: a JSON list of {"cloud_type", "url", "versions"?}."""
    import json

    try:
        items = json.loads(raw)
    except ValueError:
        raise ValueError("must be a JSON list of plugins") from None
    if not isinstance(items, list):
        raise ValueError("must be a JSON list of plugins")
    plugins = []
    for item in items:
        if not isinstance(item, dict) or not item.get("cloud_type") or not item.get("url"):
            raise ValueError('each plugin needs "cloud_type" and "url"')
        versions = item.get("versions", [])
        if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions):
            raise ValueError('"versions" must be a list of strings')
        url = _url(str(item["url"]))
        plugins.append(Plugin(str(item["cloud_type"]).lower(), url, tuple(versions)))
    return tuple(plugins)


def _fernet_keys(raw: str) -> tuple[str, ...]:
    import base64
    import binascii

    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    for key in keys:
        try:
            if len(base64.urlsafe_b64decode(key)) != 32:
                raise ValueError
        except (ValueError, binascii.Error):
            raise ValueError("each key must be 32 url-safe base64-encoded bytes") from None
    if not keys:
        raise ValueError("must hold at least one key")
    return keys


def _encryption_keys(src: _Source, data_dir: Path) -> tuple[str, ...]:
    """Keys for secrets at rest: configured (first one encrypts), or generated once."""
    configured = src.get("MULTICLOUD_ENCRYPTION_KEY", _fernet_keys, None)
    if configured:
        return configured
    import base64

    return (_generated_secret(data_dir / "encryption_key", base64.urlsafe_b64encode),)


def _secret_key(src: _Source, data_dir: Path) -> str:
    """The Django secret: configured, or generated once and kept in the data dir."""
    configured = src.get("MULTICLOUD_SECRET_KEY", _text, None)
    if configured:
        return configured
    return _generated_secret(data_dir / "secret_key")


def _generated_secret(path: Path, encode: Callable[[bytes], Any] = bytes.hex) -> str:
    existing = _read_key_file(path)
    if existing is not None:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = encode(os.urandom(32))
    secret = secret.decode() if isinstance(secret, bytes) else secret
    # NOTE: written whole under a temporary name, then linked into place: the key file
    # never exists half-written (a crash leaves at most the temporary file), and link()
    # fails if it exists, so two workers starting together agree on one key.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secret)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _read_key_file(path) or secret
    finally:
        temporary.unlink(missing_ok=True)
    return secret


def _read_key_file(path: Path) -> str | None:
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        return None
    if not value:
        raise ConfigError(f"{path} is empty (an interrupted start?): remove it and start again")
    return value


# --------------------------------------------------------------------------- event federation

_DEFAULT_PHASES = tuple(name for name in PHASE_NAMES if name in DEFAULT_PHASES)


@dataclasses.dataclass(frozen=True)
class EventsSettings:
    """The listener (``run_listener``) and its DMaaP Message Router publisher."""

    transport_url: str = dataclasses.field(repr=False)
    topics: tuple[str, ...]
    exchange: str
    pool: str
    cloud_owner: str
    cloud_region_id: str
    prefer_format: str
    phases: tuple[str, ...]
    default_states: tuple[str, ...]
    default_topic: str
    listener_threads: int
    db_retry_max: float
    retention_days: int
    rabbit_durable: bool
    rabbit_quorum: bool
    mr_url: str
    mr_username: str
    mr_password: str = dataclasses.field(repr=False)
    mr_ca_file: str
    mr_timeout: float
    mr_batch_size: int
    mr_retry_min: float
    mr_retry_max: float
    mr_max_attempts: int = 100
    mr_max_age: float = 86400.0
    mr_parallel: int = 8
    listener_batch_size: int = 100
    listener_batch_timeout: float = 0.05
    ves_url: str = ""
    ves_username: str = ""
    ves_password: str = dataclasses.field(default="", repr=False)
    ves_ca_file: str = ""
    ves_timeout: float = 10.0
    ves_reporting_entity: str = "multicloud"
    #: Seconds between reconciliations of every listened region with Nova (0: off).
    reconcile_interval: float = 0.0


def _names(fold: Callable[[str], str] = str.strip):
    def parse(raw: str) -> tuple[str, ...]:
        return tuple(fold(v.strip()) for v in str(raw).split(",") if v.strip())

    return parse


def _seconds(low: float, high: float):
    def parse(raw: str) -> float:
        try:
            value = float(str(raw).strip())
        except ValueError:
            raise ValueError("must be a number of seconds") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g}")
        return value

    return parse


def _transport_url(raw: str) -> str:
    return check_transport_url(raw.strip()) if raw.strip() else ""


def _events(src: _Source) -> EventsSettings:
    owner = src.get("MULTICLOUD_EVENTS_CLOUD_OWNER", _text, "")
    region = src.get("MULTICLOUD_EVENTS_CLOUD_REGION_ID", _text, "")
    transport_url = src.get("MULTICLOUD_EVENTS_TRANSPORT_URL", _transport_url, "")
    if transport_url and not (owner and region):
        raise ConfigError(
            "MULTICLOUD_EVENTS_TRANSPORT_URL needs MULTICLOUD_EVENTS_CLOUD_OWNER and "
            "MULTICLOUD_EVENTS_CLOUD_REGION_ID (the region its events belong to)"
        )
    upper = _names(str.upper)
    default_states = _checked(src, "MULTICLOUD_EVENTS_DEFAULT_STATES", upper, KIND_NAMES, ())
    default_topic = src.get("MULTICLOUD_EVENTS_DEFAULT_TOPIC", _text, "")
    if bool(default_states) != bool(default_topic):
        raise ConfigError(
            "MULTICLOUD_EVENTS_DEFAULT_STATES and MULTICLOUD_EVENTS_DEFAULT_TOPIC go together "
            "(the default subscription needs both)"
        )
    return EventsSettings(
        transport_url=transport_url,
        topics=src.get(
            "MULTICLOUD_EVENTS_TOPICS", _names(), ("notifications", "versioned_notifications")
        )
        or ("notifications",),
        exchange=src.get("MULTICLOUD_EVENTS_EXCHANGE", _text, "nova"),
        pool=src.get("MULTICLOUD_EVENTS_POOL", _text, ""),
        cloud_owner=owner,
        cloud_region_id=region,
        prefer_format=src.get(
            "MULTICLOUD_EVENTS_PREFER_FORMAT", _choice(PREFER_FORMATS), DEFAULT_PREFER_FORMAT
        ),
        phases=_checked(src, "MULTICLOUD_EVENTS_PHASES", upper, PHASE_NAMES, _DEFAULT_PHASES),
        default_states=default_states,
        default_topic=default_topic,
        listener_threads=src.get("MULTICLOUD_EVENTS_LISTENER_THREADS", _int_range(1, 64), 4),
        db_retry_max=src.get("MULTICLOUD_EVENTS_DB_RETRY_MAX", _seconds(0, 60), 5.0),
        retention_days=src.get("MULTICLOUD_EVENTS_RETENTION_DAYS", _int_range(0, 3650), 7),
        rabbit_durable=src.get("MULTICLOUD_EVENTS_RABBIT_DURABLE", _bool, False),
        rabbit_quorum=src.get("MULTICLOUD_EVENTS_RABBIT_QUORUM", _bool, False),
        mr_url=src.get("MULTICLOUD_MR_URL", _url, ""),
        mr_username=src.get("MULTICLOUD_MR_USERNAME", _text, ""),
        mr_password=src.get("MULTICLOUD_MR_PASSWORD", _text, ""),
        mr_ca_file=src.get("MULTICLOUD_MR_CA_FILE", _text, ""),
        mr_timeout=src.get("MULTICLOUD_MR_TIMEOUT", _seconds(0.1, 300), 10.0),
        mr_batch_size=src.get("MULTICLOUD_MR_BATCH_SIZE", _int_range(1, 10000), 100),
        mr_retry_min=src.get("MULTICLOUD_MR_RETRY_MIN", _seconds(0.01, 600), 0.5),
        mr_retry_max=src.get("MULTICLOUD_MR_RETRY_MAX", _seconds(0.01, 3600), 60.0),
        mr_max_attempts=src.get("MULTICLOUD_MR_MAX_ATTEMPTS", _int_range(0, 1_000_000), 100),
        mr_max_age=src.get("MULTICLOUD_MR_MAX_AGE", _seconds(0, 31_536_000), 86400.0),
        mr_parallel=src.get("MULTICLOUD_MR_PARALLEL", _int_range(1, 64), 8),
        listener_batch_size=src.get("MULTICLOUD_EVENTS_BATCH_SIZE", _int_range(1, 1000), 100),
        listener_batch_timeout=src.get(
            "MULTICLOUD_EVENTS_BATCH_TIMEOUT", _seconds(0.001, 10), 0.05
        ),
        ves_url=src.get("MULTICLOUD_VES_URL", _url, ""),
        ves_username=src.get("MULTICLOUD_VES_USERNAME", _text, ""),
        ves_password=src.get("MULTICLOUD_VES_PASSWORD", _text, ""),
        ves_ca_file=src.get("MULTICLOUD_VES_CA_FILE", _text, ""),
        ves_timeout=src.get("MULTICLOUD_VES_TIMEOUT", _seconds(0.1, 300), 10.0),
        ves_reporting_entity=src.get("MULTICLOUD_VES_REPORTING_ENTITY", _text, "multicloud"),
        reconcile_interval=src.get("MULTICLOUD_EVENTS_RECONCILE_INTERVAL", _seconds(0, 86400), 0.0),
    )


def _checked(src: _Source, name: str, parse, allowed: tuple[str, ...], default: tuple) -> tuple:
    values = src.get(name, parse, default)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ConfigError(f"{name}: unknown {', '.join(unknown)}; use {', '.join(allowed)}")
    return values


# --------------------------------------------------------------------------- image service


@dataclasses.dataclass(frozen=True)
class ImagesSettings:
    """The image service: staging copies, limits, export and URL fetch."""

    staging_dir: Path
    max_size: int
    retention: float
    free_space_margin: int
    export_dir: Path | None
    url_allowlist: tuple[str, ...]
    chunk_size: int


def _size(low: int, high: int):
    """Bytes, with an optional K/M/G/T suffix (powers of 1024)."""
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}

    def parse(raw: str) -> int:
        text = str(raw).strip().upper().removesuffix("IB").removesuffix("B")
        unit = text[-1:] if text[-1:] in units and text[-1:] else ""
        try:
            value = int(float(text[: len(text) - len(unit)]) * units[unit])
        except ValueError:
            raise ValueError("must be a size in bytes (suffix K, M, G or T allowed)") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high} bytes")
        return value

    return parse


def _networks(raw: str) -> tuple[str, ...]:
    import ipaddress

    values = tuple(v.strip() for v in str(raw).split(",") if v.strip())
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or CIDR network") from None
    return values


def _images(src: _Source, data_dir: Path) -> ImagesSettings:
    export = src.get("MULTICLOUD_IMAGE_EXPORT_DIR", _text, "")
    return ImagesSettings(
        staging_dir=Path(
            src.get("MULTICLOUD_IMAGE_STAGING_DIR", _text, str(data_dir / "images"))
        ).resolve(),
        max_size=src.get("MULTICLOUD_IMAGE_MAX_SIZE", _size(1, 1 << 50), 32 << 30),
        retention=src.get("MULTICLOUD_IMAGE_STAGING_RETENTION", _seconds(0, 365 * 86400), 3600.0),
        free_space_margin=src.get("MULTICLOUD_IMAGE_FREE_SPACE_MARGIN", _size(0, 1 << 50), 1 << 30),
        export_dir=Path(export).resolve() if export else None,
        url_allowlist=src.get("MULTICLOUD_IMAGE_URL_ALLOWLIST", _networks, ()),
        chunk_size=src.get("MULTICLOUD_IMAGE_CHUNK_SIZE", _size(64 << 10, 1 << 20), 1 << 20),
    )


# --------------------------------------------------------------------------- A&AI (ONAP mode)

REGISTRIES = ("local", "aai")


@dataclasses.dataclass(frozen=True)
class AaiSettings:
    """Where cloud regions come from: this service's database, or ONAP A&AI."""

    registry: str
    url: str
    schema_version: str
    username: str
    password: str = dataclasses.field(repr=False)
    ca_file: str
    #: Seconds per A&AI call; None: ``MULTICLOUD_CLOUD_TIMEOUT`` (never more than it).
    timeout: float | None = None

    @property
    def enabled(self) -> bool:
        return self.registry == "aai"


def _schema_version(raw: str) -> str:
    value = raw.strip().lower()
    if not (value.startswith("v") and value[1:].isdigit() and 10 <= int(value[1:]) <= 99):
        raise ValueError("must be an A&AI schema version such as v13 or v19 (v10 or later)")
    return value


def _aai_url(src: _Source) -> str:
    """``AAI_URL``, else OOM's ``AAI_ADDR`` + ``AAI_PORT`` (always https)."""
    url = src.get("AAI_URL", _url, "")
    if url:
        return url
    addr = src.get("AAI_ADDR", _text, "")
    if not addr:
        return ""
    port = src.get("AAI_PORT", _int_range(1, 65535), 8443)
    host = f"[{addr}]" if ":" in addr else addr
    return f"https://{host}:{port}"


def _aai(src: _Source) -> AaiSettings:
    registry = src.get("MULTICLOUD_REGISTRY", _choice(REGISTRIES), "local")
    url = _aai_url(src)
    if registry == "aai" and not url:
        raise ConfigError("MULTICLOUD_REGISTRY=aai needs AAI_URL (or AAI_ADDR and AAI_PORT)")
    ca_file = src.get("AAI_CA_FILE", _text, "")
    if ca_file and not Path(ca_file).is_file():
        raise ConfigError(f"AAI_CA_FILE={ca_file!r}: no such file")
    return AaiSettings(
        registry=registry,
        url=url,
        schema_version=src.get("AAI_SCHEMA_VERSION", _schema_version, "v13"),
        username=src.get("AAI_USERNAME", _text, ""),
        password=src.get("AAI_PASSWORD", _text, ""),
        ca_file=ca_file,
        timeout=src.get("AAI_TIMEOUT", _seconds(0.1, 3600), None),
    )


# --------------------------------------------------------------------------- authentication

AUTH_MODES = ("keystone", "basic", "none")


@dataclasses.dataclass(frozen=True)
class AuthSettings:
    """Who may call the API (``multicloud.auth``); ``mode`` is empty when unset."""

    mode: str
    policy_file: str
    cache_ttl: float
    negative_ttl: float
    url: str
    username: str
    password: str = dataclasses.field(repr=False)
    project: str
    user_domain: str
    project_domain: str
    ca_file: str
    cloud_allowlist: tuple[str, ...]

    @property
    def enabled(self) -> bool:
        """Whether callers must authenticate to this service."""
        return self.mode in ("keystone", "basic")


def _allowlist(raw: str) -> tuple[str, ...]:
    """CIDRs or host names, comma-separated (``MULTICLOUD_CLOUD_ALLOWLIST``)."""
    import ipaddress

    values = tuple(v.strip().lower() for v in str(raw).split(",") if v.strip())
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            if not re.fullmatch(r"(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?", value):
                raise ValueError(f"{value!r} is neither a CIDR network nor a host name") from None
    return values


def _auth(src: _Source) -> AuthSettings:
    mode = src.get("MULTICLOUD_AUTH", _choice(AUTH_MODES), "")
    url = src.get("MULTICLOUD_AUTH_URL", _url, "")
    username = src.get("MULTICLOUD_AUTH_USERNAME", _text, "")
    password = src.get("MULTICLOUD_AUTH_PASSWORD", _text, "")
    if mode == "keystone" and not (url and username and password):
        raise ConfigError(
            "MULTICLOUD_AUTH=keystone needs MULTICLOUD_AUTH_URL, MULTICLOUD_AUTH_USERNAME and "
            "MULTICLOUD_AUTH_PASSWORD (the service user that validates tokens)"
        )
    return AuthSettings(
        mode=mode,
        policy_file=src.get("MULTICLOUD_POLICY_FILE", _text, ""),
        cache_ttl=src.get("MULTICLOUD_AUTH_CACHE_TTL", _seconds(0, 3600), 60.0),
        negative_ttl=src.get("MULTICLOUD_AUTH_NEGATIVE_TTL", _seconds(0, 600), 10.0),
        url=url,
        username=username,
        password=password,
        project=src.get("MULTICLOUD_AUTH_PROJECT", _text, "service"),
        user_domain=src.get("MULTICLOUD_AUTH_USER_DOMAIN", _text, "Default"),
        project_domain=src.get("MULTICLOUD_AUTH_PROJECT_DOMAIN", _text, "Default"),
        ca_file=src.get("MULTICLOUD_AUTH_CA_FILE", _text, ""),
        cloud_allowlist=src.get("MULTICLOUD_CLOUD_ALLOWLIST", _allowlist, ()),
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is a loopback one."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host(src: _Source, auth: AuthSettings) -> str:
    """Where to listen: loopback unless an authentication mode was chosen."""
    host = src.get("MULTICLOUD_HOST", _text, "0.0.0.0" if auth.mode else "127.0.0.1")
    if not auth.mode and not is_loopback(host):
        raise ConfigError(
            f"MULTICLOUD_HOST={host!r} is not loopback and MULTICLOUD_AUTH is unset: choose "
            "keystone or basic, or MULTICLOUD_AUTH=none if something in front authenticates"
        )
    return host


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``environ`` (default: the process environment)."""
    environ = os.environ if environ is None else environ
    src = _Source(environ, _load_file(environ))
    data_dir = Path(src.get("MULTICLOUD_DATA_DIR", _text, str(BASE_DIR / "data"))).resolve()
    default_db = f"sqlite:///{data_dir / 'multicloud.sqlite3'}"
    auth = _auth(src)
    return Settings(
        web_framework=src.get("WEB_FRAMEWORK", _choice(WEB_FRAMEWORKS), "django"),
        host=_host(src, auth),
        port=src.get("MULTICLOUD_PORT", _int_range(1, 65535), 9001),
        workers=src.get("MULTICLOUD_WORKERS", _int_range(1, 256), os.cpu_count() or 1),
        threads=src.get("MULTICLOUD_THREADS", _int_range(1, 256), 8),
        backlog=src.get("MULTICLOUD_BACKLOG", _int_range(16, 65535), 4096),
        data_dir=data_dir,
        database_url=src.get("DATABASE_URL", _database_url, default_db),
        log_level=src.get("MULTICLOUD_LOG_LEVEL", _choice(LOG_LEVELS, str.upper), "INFO"),
        log_format=src.get("MULTICLOUD_LOG_FORMAT", _choice(LOG_FORMATS), "text"),
        access_log=src.get("MULTICLOUD_ACCESS_LOG", _bool, False),
        secret_key=_secret_key(src, data_dir),
        debug=src.get("MULTICLOUD_DEBUG", _bool, False),
        allowed_hosts=src.get("MULTICLOUD_ALLOWED_HOSTS", _hosts, ("*",)),
        request_timeout=src.get("MULTICLOUD_REQUEST_TIMEOUT", _int_range(1, 3600), 30),
        encryption_keys=_encryption_keys(src, data_dir),
        cloud_timeout=float(src.get("MULTICLOUD_CLOUD_TIMEOUT", _int_range(1, 3600), 30)),
        public_url=src.get("MULTICLOUD_PUBLIC_URL", _url, ""),
        plugins=src.get("MULTICLOUD_PLUGINS", _plugins, ()),
        events=_events(src),
        images=_images(src, data_dir),
        aai=_aai(src),
        auth=auth,
        metrics_dir=_optional_dir(src.get("PROMETHEUS_MULTIPROC_DIR", _text, "")),
        metrics_dir_default=data_dir / "metrics",
        run_as=src.get("MULTICLOUD_RUN_AS", _text, ""),
    )


def _optional_dir(raw: str) -> Path | None:
    return Path(raw).resolve() if raw else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, loaded once."""
    return load()


def main(argv: list[str] | None = None) -> int:
    """``python -m multicloud.conf``: validate and print the effective settings."""
    import sys

    try:
        settings = get_settings()
    except ConfigError as exc:
        print(f"multicloud: configuration error: {exc}", file=sys.stderr)
        return 2
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        shown = "<set>" if field.name in ("secret_key", "encryption_keys") else value
        print(f"{field.name} = {mask_userinfo(str(shown))}")
    return 0


def mask_userinfo(text: str) -> str:
    """``scheme://user:secret@host`` with the secret replaced by ``***``."""
    return re.sub(r"(://[^:/@\s]*:)[^@/\s]*@", r"\1***@", text)


if __name__ == "__main__":
    raise SystemExit(main())
