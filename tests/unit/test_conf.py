"""Typed settings: defaults, sources, and loud failures on bad values."""

import pytest

from multicloud.conf import ConfigError, load


def _load(tmp_path, **env):
    return load({"MULTICLOUD_DATA_DIR": str(tmp_path), **env})


def test_defaults_are_the_embedded_ones(tmp_path):
    settings = _load(tmp_path)
    assert settings.web_framework == "django"
    assert settings.port == 9001
    assert settings.workers >= 1
    assert settings.database_url == f"sqlite:///{tmp_path / 'multicloud.sqlite3'}"
    assert settings.log_level == "INFO"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("WEB_FRAMEWORK", "flask", "must be one of django, pecan"),
        ("MULTICLOUD_PORT", "nine", "must be an integer"),
        ("MULTICLOUD_PORT", "70000", "between 1 and 65535"),
        ("MULTICLOUD_WORKERS", "0", "between 1 and 256"),
        ("DATABASE_URL", "mysql://x/y", "sqlite:/// or postgresql://"),
        ("MULTICLOUD_LOG_LEVEL", "LOUD", "must be one of"),
        ("MULTICLOUD_ACCESS_LOG", "maybe", "true or false"),
    ],
)
def test_a_bad_value_names_the_variable(tmp_path, name, value, fragment):
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, **{name: value})
    assert name in str(caught.value)
    assert fragment in str(caught.value)


def test_values_are_normalised(tmp_path):
    settings = _load(tmp_path, WEB_FRAMEWORK=" Pecan ", MULTICLOUD_LOG_LEVEL="debug")
    assert settings.web_framework == "pecan"
    assert settings.log_level == "DEBUG"


def test_a_config_file_is_read_and_the_environment_wins(tmp_path):
    config = tmp_path / "multicloud.toml"
    config.write_text('multicloud_port = 9100\nWEB_FRAMEWORK = "pecan"\n')
    settings = _load(tmp_path, MULTICLOUD_CONFIG_FILE=str(config), MULTICLOUD_PORT="9200")
    assert settings.web_framework == "pecan"
    assert settings.port == 9200


def test_a_broken_config_file_is_refused(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("this is = = not toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        _load(tmp_path, MULTICLOUD_CONFIG_FILE=str(config))


def test_a_secret_can_come_from_a_file(tmp_path):
    secret = tmp_path / "key"
    secret.write_text("s3cr3t\n")
    assert _load(tmp_path, MULTICLOUD_SECRET_KEY_FILE=str(secret)).secret_key == "s3cr3t"


def test_a_missing_secret_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="MULTICLOUD_SECRET_KEY_FILE"):
        _load(tmp_path, MULTICLOUD_SECRET_KEY_FILE=str(tmp_path / "absent"))


def test_a_generated_secret_key_is_kept_private_and_stable(tmp_path):
    first = _load(tmp_path).secret_key
    assert _load(tmp_path).secret_key == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_an_empty_key_file_is_a_clear_error_not_an_empty_key(tmp_path):
    (tmp_path / "encryption_key").write_text("")
    with pytest.raises(ConfigError, match="encryption_key is empty"):
        _load(tmp_path)


def test_workers_starting_together_agree_on_one_generated_key(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: _load(tmp_path).encryption_keys, range(16)))
    assert len(keys) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["encryption_key", "secret_key"]


def test_ipv6_hosts_are_bracketed_in_the_bind_address(tmp_path):
    assert _load(tmp_path, MULTICLOUD_HOST="::1", MULTICLOUD_PORT="9005").bind == "[::1]:9005"


def test_no_module_but_conf_reads_the_environment():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    readers = []
    for path in [
        *root.glob("multicloud/**/*.py"),
        *root.glob("pecan_app/**/*.py"),
        *root.glob("listener/**/*.py"),
    ]:
        text = path.read_text()
        if re.search(r"os\.environ(\.get|\[)|os\.getenv", text) and path.name != "conf.py":
            readers.append(str(path.relative_to(root)))
    assert readers == []


# --------------------------------------------------------------------------- event federation

URL = "rabbit://nova:s3cret@10.0.0.1:5672/nova"


def events(tmp_path, **env):
    return load({"MULTICLOUD_DATA_DIR": str(tmp_path), **env}).events


def test_the_defaults_listen_to_both_nova_topics_and_keep_completed_and_failed_actions(tmp_path):
    conf = events(tmp_path)
    assert conf.topics == ("notifications", "versioned_notifications")
    assert conf.exchange == "nova" and conf.prefer_format == "unversioned"
    assert conf.phases == ("END", "ERROR") and conf.default_states == ()
    assert conf.transport_url == "" and conf.mr_url == ""


def test_secrets_can_come_from_files_and_never_show_in_repr(tmp_path):
    (tmp_path / "url").write_text(URL + "\n")
    (tmp_path / "mr").write_text("mr-pass")
    conf = events(
        tmp_path,
        MULTICLOUD_EVENTS_TRANSPORT_URL_FILE=str(tmp_path / "url"),
        MULTICLOUD_EVENTS_CLOUD_OWNER="onap",
        MULTICLOUD_EVENTS_CLOUD_REGION_ID="R1",
        MULTICLOUD_MR_PASSWORD_FILE=str(tmp_path / "mr"),
    )
    assert conf.transport_url == URL and conf.mr_password == "mr-pass"
    assert "s3cret" not in repr(conf) and "mr-pass" not in repr(conf)


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"MULTICLOUD_EVENTS_TRANSPORT_URL": URL}, "needs MULTICLOUD_EVENTS_CLOUD_OWNER"),
        (
            {
                "MULTICLOUD_EVENTS_TRANSPORT_URL": "http://x",
                "MULTICLOUD_EVENTS_CLOUD_OWNER": "o",
                "MULTICLOUD_EVENTS_CLOUD_REGION_ID": "r",
            },
            "not an installed broker driver",
        ),
        (
            {
                "MULTICLOUD_EVENTS_TRANSPORT_URL": "rabbit://u:secret@h:abc/",
                "MULTICLOUD_EVENTS_CLOUD_OWNER": "o",
                "MULTICLOUD_EVENTS_CLOUD_REGION_ID": "r",
            },
            "bad port",
        ),
        ({"MULTICLOUD_MR_MAX_ATTEMPTS": "-1"}, "between 0 and"),
        ({"MULTICLOUD_EVENTS_PHASES": "END,LATER"}, "unknown LATER"),
        (
            {
                "MULTICLOUD_EVENTS_DEFAULT_STATES": "PAUSE,NAP",
                "MULTICLOUD_EVENTS_DEFAULT_TOPIC": "t",
            },
            "unknown NAP",
        ),
        ({"MULTICLOUD_EVENTS_DEFAULT_STATES": "PAUSE"}, "go together"),
        ({"MULTICLOUD_EVENTS_PREFER_FORMAT": "both"}, "must be one of"),
        ({"MULTICLOUD_MR_URL": "message-router:3904"}, "http:// or https://"),
        ({"MULTICLOUD_MR_BATCH_SIZE": "0"}, "between 1 and"),
        ({"MULTICLOUD_MR_RETRY_MAX": "soon"}, "number of seconds"),
    ],
)
def test_a_bad_events_setting_names_the_variable(tmp_path, env, fragment):
    with pytest.raises(ConfigError) as caught:
        events(tmp_path, **env)
    assert fragment in str(caught.value)


def test_lists_are_normalised(tmp_path):
    conf = events(
        tmp_path,
        MULTICLOUD_EVENTS_PHASES="start, end",
        MULTICLOUD_EVENTS_DEFAULT_STATES="pause,delete",
        MULTICLOUD_EVENTS_DEFAULT_TOPIC="t",
        MULTICLOUD_EVENTS_TOPICS="onap_multicloud",
    )
    assert conf.phases == ("START", "END") and conf.default_states == ("PAUSE", "DELETE")
    assert conf.topics == ("onap_multicloud",)


# --------------------------------------------------------------------------- A&AI


def aai_settings(tmp_path, **env):
    return _load(tmp_path, **env).aai


def test_the_default_registry_is_the_local_one(tmp_path):
    settings = aai_settings(tmp_path)
    assert settings.registry == "local" and not settings.enabled
    assert settings.schema_version == "v13"


def test_aai_url_wins_over_oom_addr_and_port(tmp_path):
    settings = aai_settings(
        tmp_path, MULTICLOUD_REGISTRY="aai", AAI_URL="http://aai:8080/", AAI_ADDR="other"
    )
    assert settings.enabled and settings.url == "http://aai:8080"


def test_oom_addr_and_port_mean_https(tmp_path):
    assert (
        aai_settings(tmp_path, AAI_ADDR="aai.onap", AAI_PORT="8443").url == "https://aai.onap:8443"
    )
    assert aai_settings(tmp_path, AAI_ADDR="fd00::5").url == "https://[fd00::5]:8443"


def test_aai_mode_needs_an_address(tmp_path):
    with pytest.raises(ConfigError) as caught:
        aai_settings(tmp_path, MULTICLOUD_REGISTRY="aai")
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
def test_bad_aai_values_name_the_variable(tmp_path, name, value, fragment):
    with pytest.raises(ConfigError) as caught:
        aai_settings(tmp_path, AAI_ADDR="aai", **{name: value})
    assert name in str(caught.value) and fragment in str(caught.value)


def test_the_aai_password_can_come_from_a_file_and_is_not_shown(tmp_path):
    secret = tmp_path / "aai-password"
    secret.write_text("s3cret\n")
    settings = aai_settings(tmp_path, AAI_USERNAME="AAI", AAI_PASSWORD_FILE=str(secret))
    assert settings.password == "s3cret"
    assert "s3cret" not in repr(settings)


def test_a_modern_aai_schema_version_is_accepted(tmp_path):
    assert aai_settings(tmp_path, AAI_SCHEMA_VERSION="V19").schema_version == "v19"
