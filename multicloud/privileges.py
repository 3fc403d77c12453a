"""Who the server runs as, and what it leaves readable on disk.

Started as root, ``run.sh`` becomes an unprivileged user before it touches the
database or opens a port (``MULTICLOUD_RUN_AS``, default ``nobody``; ``root``
keeps root, an explicit choice). The directories the server writes (data,
staging, metrics, export) are handed over to that user first, and a forked
probe checks that the user can read the interpreter and the code and write the
data directory, so a mistake is one clear line at start-up (exit 2), not a
crash in a worker. Whoever it runs as, the data directory is 0700 and what it
creates there 0600 (a umask of 077).
"""

from __future__ import annotations

import os
import pwd
import stat
import sys
import sysconfig
from collections.abc import Iterable
from pathlib import Path

from multicloud.conf import ConfigError

#: Who root becomes when MULTICLOUD_RUN_AS is unset.
DEFAULT_USER = "nobody"
#: New files: owner only.
UMASK = 0o077


def target(run_as: str) -> pwd.struct_passwd | None:
    """The user to become; None when nothing changes (not root, or root chosen)."""
    if os.geteuid() != 0:
        return None
    name = run_as or DEFAULT_USER
    try:
        user = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
    except (KeyError, OverflowError):
        raise ConfigError(f"MULTICLOUD_RUN_AS={name!r}: no such user") from None
    return None if user.pw_uid == 0 else user


def secure(directory: Path) -> None:
    """``directory`` exists, is 0700, and nothing in it is open to group or others."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.chmod(0o700)
    for path in _tree(directory):
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077 and not path.is_symlink():
            path.chmod(mode & ~0o077)


def hand_over(directories: Iterable[Path], user: pwd.struct_passwd) -> None:
    """Give ``user`` the directories the server writes (created when missing), and their files."""
    for directory in directories:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        for path in (directory, *_tree(directory)):
            os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)


def needs(data_dir: Path, programs: Iterable[Path] = ()) -> list[tuple[Path, int]]:
    """What the server must reach as its user: interpreter, libraries, code, data."""
    read = os.R_OK | os.X_OK
    found = [(Path(os.path.realpath(sys.executable)), os.X_OK)]
    found += [(Path(p), os.X_OK) for p in programs]
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        found.append((Path(sysconfig.get_path(name)), read))
    found.append((Path(__file__).resolve().parents[1], read))
    found.append((data_dir, read | os.W_OK))
    return found


def unreachable(user: pwd.struct_passwd, paths: list[tuple[Path, int]]) -> Path | None:
    """The first of ``paths`` that ``user`` cannot use as needed (checked as that user)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        status = 0
        try:
            os.close(read_end)
            become(user)
            for path, mode in paths:
                if not os.access(path, mode):
                    os.write(write_end, os.fsencode(path))
                    break
        except BaseException:  # noqa: BLE001 - any failure is reported as exit status
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer:
        found = answer.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        return Path("/")
    return Path(os.fsdecode(found)) if found else None


def become(user: pwd.struct_passwd) -> None:
    """Drop root for good: no supplementary groups, then the group, then the user."""
    os.setgroups([])
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)
    if os.getuid() == 0 or os.geteuid() == 0:  # pragma: no cover - setuid cannot half-fail
        raise OSError("could not drop root")
    os.environ.update(HOME=user.pw_dir, USER=user.pw_name, LOGNAME=user.pw_name)


def drop(
    run_as: str, data_dir: Path, writable: Iterable[Path], programs: Iterable[Path] = ()
) -> str | None:
    """Become the configured user (when root); its name, or None when nothing changed."""
    user = target(run_as)
    if user is None:
        return None
    hand_over([data_dir, *writable], user)
    missing = unreachable(user, needs(data_dir, programs))
    if missing is not None:
        raise ConfigError(
            f"MULTICLOUD_RUN_AS: started as root, this service runs as {user.pw_name!r}, "
            f"who cannot use {missing}: make it readable, name another user, "
            "or set MULTICLOUD_RUN_AS=root to stay root"
        )
    become(user)
    return user.pw_name


def _tree(directory: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(directory):
        found += [Path(root, name) for name in (*dirs, *files)]
    return found
