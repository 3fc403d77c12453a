"""Does each lock file pin what its requirements file asks for? (``make venv`` checks first.)

    python tools/check_lock.py          # exit 1 naming the pins missing from the locks

``requirements.lock`` must hold every pin of ``requirements.txt``, and
``requirements-dev.lock`` every pin of both; ``make lock`` regenerates them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAIRS = {
    "requirements.lock": ("requirements.txt",),
    "requirements-dev.lock": ("requirements.txt", "requirements-dev.txt"),
}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def pins(path: Path) -> set[tuple[str, str]]:
    """(normalised name, version) of every ``name==version`` line."""
    found = set()
    for line in path.read_text().splitlines():
        match = _PIN.match(line.strip())
        if match:
            found.add((_name(match.group(1)), match.group(2)))
    return found


def missing() -> list[str]:
    """What the locks lack, and runtime pins the dev lock resolved differently."""
    problems = []
    if all((ROOT / lock).exists() for lock in PAIRS):
        runtime, dev = (dict(pins(ROOT / lock)) for lock in PAIRS)
        for name, version in sorted(runtime.items()):
            if dev.get(name, version) != version:
                problems.append(f"requirements-dev.lock has {name}=={dev[name]}, not {version}")
    for lock, sources in PAIRS.items():
        locked = pins(ROOT / lock) if (ROOT / lock).exists() else set()
        for source in sources:
            for name, version in sorted(pins(ROOT / source) - locked):
                problems.append(f"{lock} lacks {name}=={version} (from {source})")
    return problems


def main() -> int:
    problems = missing()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print("run `make lock` to regenerate the lock files", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
