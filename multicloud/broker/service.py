"""What kinds of cloud this service can broker, and where each region is served.

Regions of the built-in types are served in-process. A type (or a type at
some versions) mapped to an external plugin in ``MULTICLOUD_PLUGINS`` is
forwarded to that plugin, as ONAP's broker does.
"""

from __future__ import annotations

from multicloud.conf import Plugin, get_settings
from multicloud.vims.types import BUILTIN_VIM_TYPES


def vim_types() -> list[dict[str, object]]:
    """Supported cloud types (built-in, then external plugins) in ONAP's list shape."""
    merged: dict[str, list[str]] = {name: list(v) for name, v in BUILTIN_VIM_TYPES}
    for plugin in get_settings().plugins:
        versions = merged.setdefault(plugin.cloud_type, [])
        versions += [v for v in plugin.versions if v not in versions]
    return [{"vim_type": name, "versions": versions} for name, versions in merged.items()]


def plugin_for(cloud_type: str, version: str) -> Plugin | None:
    """The external plugin serving this type/version, or None when served in-process."""
    for plugin in get_settings().plugins:
        if plugin.serves(cloud_type.lower(), version):
            return plugin
    return None
