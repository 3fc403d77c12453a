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
import tomllib
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent

WEB_FRAMEWORKS = ("django", "pecan")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")


class ConfigError(ValueError):
    """A setting has a value the service cannot run with."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """The effective configuration; see README "Configuration" for each item."""

    web_framework: str
    host: str
    port: int
    workers: int
    backlog: int
    data_dir: Path
    database_url: str
    log_level: str
    log_format: str
    access_log: bool
    secret_key: str
    debug: bool
    allowed_hosts: tuple[str, ...]
    request_timeout: int
    encryption_keys: tuple[str, ...]
    cloud_timeout: float
    public_url: str

    @property
    def bind(self) -> str:
        """``host:port`` in the form servers accept (IPv6 hosts bracketed)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


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
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = encode(os.urandom(32))
    secret = secret.decode() if isinstance(secret, bytes) else secret
    # NOTE: O_EXCL so two workers starting together agree on one key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``environ`` (default: the process environment)."""
    environ = os.environ if environ is None else environ
    src = _Source(environ, _load_file(environ))
    data_dir = Path(src.get("MULTICLOUD_DATA_DIR", _text, str(BASE_DIR / "data"))).resolve()
    default_db = f"sqlite:///{data_dir / 'multicloud.sqlite3'}"
    return Settings(
        web_framework=src.get("WEB_FRAMEWORK", _choice(WEB_FRAMEWORKS), "django"),
        host=src.get("MULTICLOUD_HOST", _text, "0.0.0.0"),
        port=src.get("MULTICLOUD_PORT", _int_range(1, 65535), 9001),
        workers=src.get("MULTICLOUD_WORKERS", _int_range(1, 256), os.cpu_count() or 1),
        backlog=src.get("MULTICLOUD_BACKLOG", _int_range(16, 65535), 4096),
        data_dir=data_dir,
        database_url=src.get("DATABASE_URL", _database_url, default_db),
        log_level=src.get("MULTICLOUD_LOG_LEVEL", _choice(LOG_LEVELS, str.upper), "INFO"),
        log_format=src.get("MULTICLOUD_LOG_FORMAT", _choice(LOG_FORMATS), "text"),
        access_log=src.get("MULTICLOUD_ACCESS_LOG", _bool, False),
        secret_key=_secret_key(src, data_dir),
        debug=src.get("MULTICLOUD_DEBUG", _bool, False),
        allowed_hosts=src.get("MULTICLOUD_ALLOWED_HOSTS", _hosts, ("*",)),
        request_timeout=src.get("MULTICLOUD_REQUEST_TIMEOUT", _int_range(1, 3600), 120),
        encryption_keys=_encryption_keys(src, data_dir),
        cloud_timeout=float(src.get("MULTICLOUD_CLOUD_TIMEOUT", _int_range(1, 3600), 30)),
        public_url=src.get("MULTICLOUD_PUBLIC_URL", _url, ""),
    )


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
        print(f"{field.name} = {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
