"""What kinds of cloud this service can broker, and how."""

from __future__ import annotations

#: Cloud types served in-process, with the ``cloud-region-version`` values ONAP
#: uses for them. Any Keystone v3 OpenStack is an ``openstack`` region; VMware
#: Integrated OpenStack is ``vmware``. External plugins add entries later.
BUILTIN_VIM_TYPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("openstack", ("titanium_cloud", "ocata", "pike", "starlingx")),
    ("vmware", ("4.0",)),
)


def vim_types() -> list[dict[str, object]]:
    """The supported cloud types in the ONAP ``vim_types`` list shape."""
    return [{"vim_type": name, "versions": list(versions)} for name, versions in BUILTIN_VIM_TYPES]
