"""HPA capabilities of a flavor, in ONAP's ``onap.*`` flavor convention.

OOF/SO homing reads a flavor's ``hpa-capabilities`` from A&AI. Flavors whose name
starts with ``onap.`` get them, built from the flavor itself and its Nova extra
specs (``hw:cpu_policy``, ``hw:mem_page_size``, ``pci_passthrough:alias`` ...).
Capability ids are deterministic (uuid5 of the flavor id and the feature), so a
re-registration updates a capability instead of adding a second one.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

#: Namespace of the capability ids (fixed: ids must not change between releases).
CAPABILITY_NAMESPACE = uuid.UUID("6b3f5c0e-5a55-4f3a-9d3e-0f6d2c1b7a10")
HPA_PREFIX = "onap."

Attribute = tuple[str, str]


def wants_hpa(flavor_name: str) -> bool:
    return str(flavor_name or "").startswith(HPA_PREFIX)


def capability_id(flavor_id: str, feature: str) -> str:
    return str(uuid.uuid5(CAPABILITY_NAMESPACE, f"{flavor_id}/{feature}"))


def _value(value: Any, unit: str | None = None) -> str:
    body = {"value": str(value)}
    if unit:
        body["unit"] = unit
    return json.dumps(body, sort_keys=True)


def capabilities(
    flavor: dict[str, Any], specs: dict[str, str], extra_info: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The capabilities of one ``onap.*`` flavor (``flavor`` as Nova lists it)."""
    found = [
        ("basicCapabilities", "generic", _basic(flavor)),
        ("localStorage", "generic", _storage(flavor)),
    ]
    for feature, arch, build in _OPTIONAL:
        attributes = build(specs)
        if attributes is not None:
            found.append((feature, pci_architecture(specs, feature) or arch, attributes))
    dpdk = (extra_info or {}).get("ovsDpdk")
    if isinstance(dpdk, dict) and dpdk.get("libname"):
        found.append(("ovsDpdk", "Intel64", [(dpdk["libname"], _value(dpdk.get("libversion")))]))
    return [_capability(str(flavor["id"]), *item) for item in found]


def _capability(flavor_id: str, feature: str, arch: str, attributes: list[Attribute]) -> dict:
    return {
        "hpa-capability-id": capability_id(flavor_id, feature),
        "hpa-feature": feature,
        "architecture": arch,
        "hpa-version": "v1",
        "attributes": attributes,
    }


def _basic(flavor: dict[str, Any]) -> list[Attribute]:
    return [
        ("numVirtualCpu", _value(flavor.get("vcpus", 0))),
        ("virtualMemSize", _value(flavor.get("ram", 0), "MB")),
    ]


def _storage(flavor: dict[str, Any]) -> list[Attribute]:
    return [
        ("diskSize", _value(flavor.get("disk", 0), "GB")),
        ("swapMemSize", _value(flavor.get("swap") or 0, "MB")),
        ("ephemeralDiskSize", _value(flavor.get("OS-FLV-EXT-DATA:ephemeral") or 0, "GB")),
    ]


def _pinning(specs: dict[str, str]) -> list[Attribute] | None:
    pairs = (
        ("logicalCpuPinningPolicy", "hw:cpu_policy"),
        ("logicalCpuThreadPinningPolicy", "hw:cpu_thread_policy"),
    )
    found = [(name, _value(specs[key])) for name, key in pairs if key in specs]
    return found or None


def _topology(specs: dict[str, str]) -> list[Attribute] | None:
    pairs = (
        ("numCpuSockets", "hw:cpu_sockets"),
        ("numCpuCores", "hw:cpu_cores"),
        ("numCpuThreads", "hw:cpu_threads"),
    )
    found = [(name, _value(specs[key])) for name, key in pairs if key in specs]
    return found or None


def _huge_pages(specs: dict[str, str]) -> list[Attribute] | None:
    size = specs.get("hw:mem_page_size")
    if size is None:
        return None
    sizes = {"large": ("2", "MB"), "small": ("4", "KB")}
    if size in sizes:
        return [("memoryPageSize", _value(*sizes[size]))]
    if size.isdigit():
        return [("memoryPageSize", _value(size, "KB"))]
    return []  # NOTE: "any" names no size; the capability is present without attributes.


def _numa(specs: dict[str, str]) -> list[Attribute] | None:
    nodes = specs.get("hw:numa_nodes")
    if nodes is None:
        return None
    found = [("numaNodes", _value(nodes))]
    for index in range(int(nodes) if nodes.isdigit() else 0):
        cpus, mem = specs.get(f"hw:numa_cpus.{index}"), specs.get(f"hw:numa_mem.{index}")
        if cpus is not None and mem is not None:
            found += [(f"numaCpu-{index}", _value(cpus)), (f"numaMem-{index}", _value(mem, "MB"))]
    return found


def _instruction_sets(specs: dict[str, str]) -> list[Attribute] | None:
    features = specs.get("hw:capabilities:cpu_info:features")
    return None if features is None else [("instructionSetExtensions", _value(features))]


def _pci(alias: str, with_network: bool) -> list[Attribute] | None:
    """``a-b-ARCH-VENDOR-DEVICE[-PHYSNET]:COUNT`` → the PCI attributes."""
    name, _, count = alias.partition(":")
    parts = name.split("-")
    if len(parts) < (6 if with_network else 5):
        return None
    found = [
        ("pciCount", _value(count or "1")),
        ("pciVendorId", _value(parts[3])),
        ("pciDeviceId", _value(parts[4])),
    ]
    if with_network:
        found.append(("physicalNetwork", _value(parts[5])))
    return found


def _pci_arch(alias: str) -> str:
    parts = alias.partition(":")[0].split("-")
    return parts[2] if len(parts) > 2 else "generic"


def _passthrough(specs: dict[str, str]) -> list[Attribute] | None:
    alias = specs.get("pci_passthrough:alias")
    return None if alias is None else _pci(alias, with_network=False)


def _sriov(specs: dict[str, str]) -> list[Attribute] | None:
    alias = specs.get("aggregate_instance_extra_specs:sriov_nic")
    return None if alias is None else _pci(alias, with_network=True)


_OPTIONAL = (
    ("cpuPinning", "generic", _pinning),
    ("cpuTopology", "generic", _topology),
    ("hugePages", "generic", _huge_pages),
    ("numa", "generic", _numa),
    ("instructionSetExtensions", "Intel64", _instruction_sets),
    ("pciePassthrough", "generic", _passthrough),
    ("sriovNICNetwork", "generic", _sriov),
)


def pci_architecture(specs: dict[str, str], feature: str) -> str:
    """The architecture a PCI capability names in its alias (``""`` for other features)."""
    key = {
        "pciePassthrough": "pci_passthrough:alias",
        "sriovNICNetwork": "aggregate_instance_extra_specs:sriov_nic",
    }.get(feature)
    return _pci_arch(specs[key]) if key and key in specs else ""
