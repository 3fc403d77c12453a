"""HPA capabilities from a flavor and its extra specs (the onap.* convention)."""

import json

from multicloud.vims import hpa

FLAVOR = {"id": "f1", "name": "onap.hpa.small", "vcpus": 2, "ram": 512, "disk": 1, "swap": ""}


def by_feature(caps):
    return {c["hpa-feature"]: c for c in caps}


def attrs(cap):
    return {k: json.loads(v) for k, v in cap["attributes"]}


def test_only_onap_flavors_get_capabilities():
    assert hpa.wants_hpa("onap.hpa.small") and not hpa.wants_hpa("m1.tiny")


def test_basic_capabilities_and_local_storage_always():
    caps = by_feature(hpa.capabilities(FLAVOR, {}))
    assert set(caps) == {"basicCapabilities", "localStorage"}
    assert attrs(caps["basicCapabilities"]) == {
        "numVirtualCpu": {"value": "2"},
        "virtualMemSize": {"value": "512", "unit": "MB"},
    }
    assert attrs(caps["localStorage"])["diskSize"] == {"value": "1", "unit": "GB"}
    assert caps["basicCapabilities"]["hpa-version"] == "v1"
    assert caps["basicCapabilities"]["architecture"] == "generic"


def test_capability_ids_are_deterministic_per_flavor_and_feature():
    first = hpa.capabilities(FLAVOR, {"hw:cpu_policy": "dedicated"})
    again = hpa.capabilities(FLAVOR, {"hw:cpu_policy": "dedicated"})
    assert [c["hpa-capability-id"] for c in first] == [c["hpa-capability-id"] for c in again]
    other = hpa.capabilities({**FLAVOR, "id": "f2"}, {})
    assert first[0]["hpa-capability-id"] != other[0]["hpa-capability-id"]


def test_extra_specs_map_to_features():
    specs = {
        "hw:cpu_policy": "dedicated",
        "hw:cpu_thread_policy": "prefer",
        "hw:cpu_sockets": "2",
        "hw:mem_page_size": "large",
        "hw:numa_nodes": "2",
        "hw:numa_cpus.0": "0,1",
        "hw:numa_mem.0": "256",
        "hw:capabilities:cpu_info:features": "avx,sse",
        "pci_passthrough:alias": "a-b-aarch64-8086-0443:2",
        "aggregate_instance_extra_specs:sriov_nic": "a-b-generic-8086-10ed-physnet1:1",
    }
    caps = by_feature(
        hpa.capabilities(FLAVOR, specs, {"ovsDpdk": {"libname": "dpdk", "libversion": "v17.02"}})
    )
    assert attrs(caps["cpuPinning"]) == {
        "logicalCpuPinningPolicy": {"value": "dedicated"},
        "logicalCpuThreadPinningPolicy": {"value": "prefer"},
    }
    assert attrs(caps["cpuTopology"]) == {"numCpuSockets": {"value": "2"}}
    assert attrs(caps["hugePages"]) == {"memoryPageSize": {"value": "2", "unit": "MB"}}
    assert attrs(caps["numa"]) == {
        "numaNodes": {"value": "2"},
        "numaCpu-0": {"value": "0,1"},
        "numaMem-0": {"value": "256", "unit": "MB"},
    }
    assert caps["instructionSetExtensions"]["architecture"] == "Intel64"
    assert caps["pciePassthrough"]["architecture"] == "aarch64"
    assert attrs(caps["pciePassthrough"]) == {
        "pciCount": {"value": "2"},
        "pciVendorId": {"value": "8086"},
        "pciDeviceId": {"value": "0443"},
    }
    assert attrs(caps["sriovNICNetwork"])["physicalNetwork"] == {"value": "physnet1"}
    assert attrs(caps["ovsDpdk"]) == {"dpdk": {"value": "v17.02"}}


def test_huge_pages_sizes():
    def size(value):
        return attrs(by_feature(hpa.capabilities(FLAVOR, {"hw:mem_page_size": value}))["hugePages"])

    assert size("small") == {"memoryPageSize": {"value": "4", "unit": "KB"}}
    assert size("2048") == {"memoryPageSize": {"value": "2048", "unit": "KB"}}
    assert size("any") == {}
