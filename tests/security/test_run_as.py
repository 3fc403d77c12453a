"""Started as root, the service becomes MULTICLOUD_RUN_AS (default nobody); data is owner-only."""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from multicloud import privileges
from multicloud.conf import ConfigError

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_dir_becomes_owner_only(tmp_path):
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "multicloud.sqlite3").write_text("db")
    (data / "multicloud.sqlite3").chmod(0o644)
    (data / "images").chmod(0o755)
    privileges.secure(data)
    assert _mode(data) == 0o700 and _mode(data / "images") == 0o700
    assert _mode(data / "multicloud.sqlite3") == 0o600


@ROOT_ONLY
def test_root_becomes_nobody_unless_root_is_chosen():
    assert privileges.target("").pw_name == "nobody"
    assert privileges.target("root") is None and privileges.target("0") is None
    with pytest.raises(ConfigError, match="no such user"):
        privileges.target("no-such-user-here")


@ROOT_ONLY
@pytest.mark.filterwarnings("ignore:Using fork")  # eventlet, imported by other tests
def test_the_server_user_gets_the_data_dir_and_loses_root():
    nobody = pwd.getpwnam("nobody")
    # NOTE: under a world-traversable directory: pytest's own is root-only.
    with tempfile.TemporaryDirectory(dir="/tmp") as shared:
        os.chmod(shared, 0o755)
        data = Path(shared, "data")
        data.mkdir()
        (data / "encryption_key").write_text("k")
        pid = os.fork()
        if pid == 0:  # the child drops for good, writes what it became, and ends
            code = 1
            try:
                privileges.hand_over([data], nobody)
                privileges.become(nobody)
                (data / "written-as-nobody").write_text("x")
                code = (
                    0
                    if (os.getuid(), os.geteuid(), os.getgroups())
                    == (
                        nobody.pw_uid,
                        nobody.pw_uid,
                        [],
                    )
                    else 2
                )
                try:
                    os.setuid(0)
                    code = 3  # root came back: not dropped for good
                except PermissionError:
                    pass
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        for path in (data, data / "encryption_key", data / "written-as-nobody"):
            assert path.stat().st_uid == nobody.pw_uid, path


@ROOT_ONLY
def test_a_user_that_cannot_reach_the_data_dir_is_one_line_and_exit_2(tmp_path):
    # NOTE: tmp_path lies under pytest's root-only directory: nobody cannot reach it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MULTICLOUD_")}
    env.update(MULTICLOUD_DATA_DIR=str(tmp_path / "data"), DATABASE_URL="sqlite:///:memory:")
    done = subprocess.run(
        [sys.executable, "-m", "multicloud.launch"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "runs as 'nobody'" in line and "MULTICLOUD_RUN_AS=root" in line
