"""A&AI settings: MULTICLOUD_REGISTRY, AAI_URL or AAI_ADDR+AAI_PORT, version, secrets."""

import pytest

from multicloud.conf import ConfigError, load


def _load(tmp_path, **env):
    return load({"MULTICLOUD_DATA_DIR": str(tmp_path), **env}).aai


def test_the_default_is_the_local_registry(tmp_path):
    settings = _load(tmp_path)
    assert settings.registry == "local" and not settings.enabled
    assert settings.schema_version == "v13"


def test_aai_url_wins_over_oom_addr_and_port(tmp_path):
    settings = _load(
        tmp_path, MULTICLOUD_REGISTRY="aai", AAI_URL="http://aai:8080/", AAI_ADDR="other"
    )
    assert settings.enabled and settings.url == "http://aai:8080"


def test_oom_addr_and_port_mean_https(tmp_path):
    assert _load(tmp_path, AAI_ADDR="aai.onap", AAI_PORT="8443").url == "https://aai.onap:8443"
    assert _load(tmp_path, AAI_ADDR="fd00::5").url == "https://[fd00::5]:8443"


def test_aai_mode_needs_an_address(tmp_path):
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, MULTICLOUD_REGISTRY="aai")
    assert "AAI_URL" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("MULTICLOUD_REGISTRY", "ldap", "must be one of local, aai"),
        ("AAI_SCHEMA_VERSION", "13", "schema version"),
        ("AAI_SCHEMA_VERSION", "v9", "schema version"),
        ("AAI_URL", "ftp://aai", "http:// or https://"),
        ("AAI_PORT", "99999", "between 1 and 65535"),
        ("AAI_CA_FILE", "/no/such/ca.pem", "no such file"),
    ],
)
def test_bad_values_name_the_variable(tmp_path, name, value, fragment):
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, AAI_ADDR="aai", **{name: value})
    assert name in str(caught.value) and fragment in str(caught.value)


def test_the_password_can_come_from_a_file_and_is_not_shown(tmp_path):
    secret = tmp_path / "aai-password"
    secret.write_text("s3cret\n")
    settings = _load(tmp_path, AAI_USERNAME="AAI", AAI_PASSWORD_FILE=str(secret))
    assert settings.password == "s3cret"
    assert "s3cret" not in repr(settings)


def test_a_modern_version_is_accepted(tmp_path):
    assert _load(tmp_path, AAI_SCHEMA_VERSION="V19").schema_version == "v19"


@pytest.mark.parametrize(("aai_timeout", "expected"), [(None, 30.0), ("2", 2.0), ("99", 30.0)])
def test_the_aai_timeout_is_the_cloud_timeout_at_most(tmp_path, monkeypatch, aai_timeout, expected):
    from multicloud.aai import client
    from multicloud.conf import get_settings

    monkeypatch.setenv("MULTICLOUD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AAI_URL", "http://127.0.0.1:1")
    if aai_timeout:
        monkeypatch.setenv("AAI_TIMEOUT", aai_timeout)
    get_settings.cache_clear()
    try:
        assert client.client().timeout == expected
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
