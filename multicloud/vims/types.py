"""The cloud types this service serves in-process: their one list."""

from __future__ import annotations

from multicloud.exceptions import BadRequest

#: Built-in cloud types with the ``cloud-region-version`` values ONAP uses for them. Any
#: Keystone v3 OpenStack is an ``openstack`` region; VMware Integrated OpenStack is ``vmware``.
BUILTIN_VIM_TYPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("openstack", ("titanium_cloud", "ocata", "pike", "starlingx")),
    ("vmware", ("4.0",)),
)

#: Their names.
HANDLED_TYPES: tuple[str, ...] = tuple(name for name, _ in BUILTIN_VIM_TYPES)


def check_handled(cloud_type: str, source: str = "unknown") -> str:
    """``cloud_type`` when this service serves it; else 400 naming the ones it serves.

    ``source`` says where the type came from (``A&AI says``, default ``unknown``).
    """
    if cloud_type not in HANDLED_TYPES:
        raise BadRequest(
            f"{source} cloud-type {cloud_type!r}: this service handles {', '.join(HANDLED_TYPES)}"
        )
    return cloud_type
