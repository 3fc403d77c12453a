"""Without MULTICLOUD_AUTH the service listens on loopback only, and refuses anything else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from multicloud.conf import ConfigError, load

ROOT = Path(__file__).resolve().parents[2]


def _load(tmp_path, **env):
    return load({"MULTICLOUD_DATA_DIR": str(tmp_path), **env})


def test_unset_auth_defaults_to_loopback(tmp_path):
    settings = _load(tmp_path)
    assert settings.host == "127.0.0.1"
    assert settings.auth.mode == "" and not settings.auth.enabled


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.5"])
def test_unset_auth_accepts_any_loopback_host(tmp_path, host):
    assert _load(tmp_path, MULTICLOUD_HOST=host).host == host


@pytest.mark.parametrize("mode", ["none", "basic"])
def test_a_chosen_mode_defaults_to_every_address(tmp_path, mode):
    assert _load(tmp_path, MULTICLOUD_AUTH=mode).host == "0.0.0.0"


def test_keystone_needs_its_service_user(tmp_path):
    with pytest.raises(ConfigError, match="MULTICLOUD_AUTH_URL"):
        _load(tmp_path, MULTICLOUD_AUTH="keystone")


def test_the_auth_password_is_not_in_the_settings_repr(tmp_path):
    settings = _load(
        tmp_path,
        MULTICLOUD_AUTH="keystone",
        MULTICLOUD_AUTH_URL="http://ks:5000/v3",
        MULTICLOUD_AUTH_USERNAME="svc",
        MULTICLOUD_AUTH_PASSWORD="do-not-print-me",
        MULTICLOUD_SECRET_KEY="django-secret-do-not-print",
    )
    assert "do-not-print" not in repr(settings)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_a_public_address_without_auth_refuses_to_start(tmp_path, host):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MULTICLOUD_", "WEB_"))}
    env.update(MULTICLOUD_DATA_DIR=str(tmp_path), MULTICLOUD_HOST=host)
    run = subprocess.run(
        [sys.executable, "-m", "multicloud.launch"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "MULTICLOUD_AUTH=none" in lines[0] and host in lines[0]


def test_start_up_removes_only_stale_partial_staging_files(tmp_path, override_settings, db):
    import time

    from multicloud.images import staging

    override_settings(MULTICLOUD_IMAGE_STAGING_DIR=str(tmp_path))
    stale, live, kept = tmp_path / "a.part", tmp_path / "b.part", tmp_path / "c.img"
    for path in (stale, live, kept):
        path.write_bytes(b"x")
    old = time.time() - 600
    os.utime(stale, (old, old))
    os.utime(kept, (old, old))
    assert staging.remove_stale_parts(300) == 1
    assert not stale.exists() and live.exists() and kept.exists()


@pytest.mark.parametrize(
    "env, warned",
    [
        ({}, None),  # loopback: nobody else can send a Host
        ({"MULTICLOUD_AUTH": "none", "MULTICLOUD_HOST": "0.0.0.0"}, "links are built"),
        (
            {"MULTICLOUD_AUTH": "none", "MULTICLOUD_PUBLIC_URL": "https://mc.example"},
            "any Host header is accepted (list",
        ),
        ({"MULTICLOUD_AUTH": "none", "MULTICLOUD_ALLOWED_HOSTS": "mc.example"}, None),
    ],
)
def test_any_host_on_a_reachable_address_is_warned_about_at_start(tmp_path, caplog, env, warned):
    from multicloud.auth import hosts

    with caplog.at_level("WARNING", logger="multicloud.auth.hosts"):
        hosts.log_policy(_load(tmp_path, **env))
    text = caplog.text
    if warned is None:
        assert not text
    else:
        assert "MULTICLOUD_ALLOWED_HOSTS is '*' on 0.0.0.0" in text and warned in text
