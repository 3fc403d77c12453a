"""The cloud types this service serves in-process: their one list."""

from __future__ import annotations

#: Built-in cloud types with the ``cloud-region-version`` values ONAP uses for them. Any
#: Keystone v3 OpenStack is an ``openstack`` region; VMware Integrated OpenStack is ``vmware``.
BUILTIN_VIM_TYPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("openstack", ("titanium_cloud", "ocata", "pike", "starlingx")),
    ("vmware", ("4.0",)),
)

#: Their names.
HANDLED_TYPES: tuple[str, ...] = tuple(name for name, _ in BUILTIN_VIM_TYPES)
