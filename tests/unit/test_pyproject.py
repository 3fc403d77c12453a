"""The project's own settings in pyproject.toml: the layering contract and the warning filters."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import tomllib

import multicloud
from tests.servers import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_module_of_multicloud_sits_in_a_layer():
    """A module no layer names would be unconstrained: lint-imports could not keep it in place."""
    (layers,) = [c for c in PYPROJECT["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    named = {
        name.strip() for layer in layers["layers"] for name in layer.replace("|", ":").split(":")
    }
    ours = {f"multicloud.{info.name}" for info in pkgutil.iter_modules(multicloud.__path__)}
    assert ours - named == set()
    assert not any("ignore_imports" in c for c in PYPROJECT["tool"]["importlinter"]["contracts"])


def test_the_eventlet_filter_matches_its_deprecation_warning():
    """Eventlet warns with a plain Warning subclass on import; the filter must silence it."""
    (line,) = [
        f for f in PYPROJECT["tool"]["pytest"]["ini_options"]["filterwarnings"] if "Eventlet" in f
    ]
    action, message, category = line.split(":")
    script = (
        "import warnings\n"
        f"warnings.filterwarnings({action!r}, message={message!r}, category={category})\n"
        "import eventlet\n"
    )
    # NOTE: a fresh interpreter: this one may have imported Eventlet already.
    quiet = subprocess.run([sys.executable, "-W", "error", "-c", script], capture_output=True)
    assert quiet.returncode == 0, quiet.stderr.decode()[-500:]
    loud = subprocess.run([sys.executable, "-W", "error", "-c", "import eventlet"])
    assert loud.returncode != 0  # the warning is real, so the filter is needed
