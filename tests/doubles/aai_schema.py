"""The slice of A&AI's schema the A&AI double serves (node types, edge rules, error codes).

Facts from A&AI's OXM schema (v13 and later), its edge rules (cloud-infrastructure,
HPA and ESR files) and its error table (``error.properties``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

BELONGS_TO = "org.onap.relationships.inventory.BelongsTo"
LOCATED_IN = "org.onap.relationships.inventory.LocatedIn"
MEMBER_OF = "org.onap.relationships.inventory.MemberOf"
USES = "org.onap.relationships.inventory.Uses"
HOSTED_ON = "tosca.relationships.HostedOn"


@dataclass(frozen=True)
class NodeType:
    """One A&AI node type: its keys, attributes and child containers."""

    name: str
    keys: tuple[str, ...]
    required: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()
    #: container name -> child type name; a container named like its type has no wrapper.
    children: dict[str, str] = field(default_factory=dict)
    #: child containers that block deleting this node while they hold anything.
    blocking: tuple[str, ...] = ()
    #: attribute -> (default, first schema version that requires it)
    defaults: dict[str, tuple[object, int]] = field(default_factory=dict)
    #: attribute -> (first version, last version) it exists in.
    versions: dict[str, tuple[int, int]] = field(default_factory=dict)

    def known(self, version: int) -> set[str]:
        names = set(self.keys) | set(self.required) | set(self.attributes) | set(self.defaults)
        return {n for n in names if _in(self.versions.get(n, (0, 999)), version)}

    def required_in(self, version: int) -> set[str]:
        needed = set(self.keys) | {n for n in self.required if n in self.known(version)}
        return needed | {n for n, (_, since) in self.defaults.items() if version >= since}


def _in(span: tuple[int, int], version: int) -> bool:
    return span[0] <= version <= span[1]


TYPES: dict[str, NodeType] = {
    t.name: t
    for t in (
        NodeType(
            "cloud-region",
            ("cloud-owner", "cloud-region-id"),
            attributes=(
                "cloud-type",
                "owner-defined-type",
                "cloud-region-version",
                "identity-url",
                "cloud-zone",
                "complex-name",
                "sriov-automation",
                "cloud-extra-info",
                "cloud-epa-caps",
                "upgrade-cycle",
            ),
            children={
                "tenants": "tenant",
                "flavors": "flavor",
                "images": "image",
                "availability-zones": "availability-zone",
                "esr-system-info-list": "esr-system-info",
            },
            blocking=("tenants", "flavors", "images"),
            defaults={"orchestration-disabled": (False, 16), "in-maint": (False, 16)},
            versions={
                "cloud-epa-caps": (0, 13),
                "orchestration-disabled": (16, 999),
                "in-maint": (16, 999),
            },
        ),
        NodeType(
            "tenant",
            ("tenant-id",),
            required=("tenant-name",),
            attributes=("tenant-context",),
            children={"vservers": "vserver"},
            blocking=("vservers",),
        ),
        NodeType(
            "vserver",
            ("vserver-id",),
            required=("vserver-name", "vserver-selflink"),
            attributes=("vserver-name2", "prov-status"),
            children={"l-interfaces": "l-interface"},
            defaults={"in-maint": (False, 0), "is-closed-loop-disabled": (False, 0)},
        ),
        NodeType(
            "l-interface",
            ("interface-name",),
            # NOTE: is-port-mirrored has no default (a writer must send it);
            # l2-multicasting exists, required and without default, from v20.
            required=("is-port-mirrored", "l2-multicasting"),
            attributes=(
                "interface-id",
                "interface-role",
                "macaddr",
                "network-name",
                "selflink",
                "prov-status",
            ),
            children={
                "l3-interface-ipv4-address-list": "l3-interface-ipv4-address-list",
                "l3-interface-ipv6-address-list": "l3-interface-ipv6-address-list",
            },
            defaults={"in-maint": (False, 0), "is-ip-unnumbered": (False, 0)},
            versions={"l2-multicasting": (20, 999)},
        ),
        *(
            NodeType(
                f"l3-interface-ipv{v}-address-list",
                (f"l3-interface-ipv{v}-address",),
                attributes=(
                    f"l3-interface-ipv{v}-prefix-length",
                    "vlan-id-inner",
                    "vlan-id-outer",
                    "is-floating",
                    "neutron-network-id",
                    "neutron-subnet-id",
                ),
            )
            for v in (4, 6)
        ),
        NodeType(
            "flavor",
            ("flavor-id",),
            required=("flavor-name", "flavor-selflink"),
            attributes=(
                "flavor-vcpus",
                "flavor-ram",
                "flavor-disk",
                "flavor-ephemeral",
                "flavor-swap",
                "flavor-is-public",
                "flavor-disabled",
            ),
            children={"hpa-capabilities": "hpa-capability"},
            blocking=("hpa-capabilities",),
        ),
        NodeType(
            "hpa-capability",
            ("hpa-capability-id",),
            required=("hpa-feature",),
            attributes=("hpa-version", "architecture"),
            children={"hpa-feature-attributes": "hpa-feature-attributes"},
        ),
        NodeType(
            "hpa-feature-attributes", ("hpa-attribute-key",), attributes=("hpa-attribute-value",)
        ),
        NodeType(
            "image",
            ("image-id",),
            required=("image-name", "image-os-distro", "image-os-version", "image-selflink"),
            attributes=(
                "application",
                "application-vendor",
                "application-version",
                "image-architecture",
            ),
        ),
        NodeType(
            "availability-zone",
            ("availability-zone-name",),
            required=("hypervisor-type",),
            attributes=("operational-status",),
        ),
        NodeType(
            "esr-system-info",
            ("esr-system-info-id",),
            required=("user-name", "password", "system-type"),
            attributes=(
                "system-name",
                "type",
                "vendor",
                "version",
                "service-url",
                "protocol",
                "ssl-cacert",
                "ssl-insecure",
                "ip-address",
                "port",
                "cloud-domain",
                "default-tenant",
                "passive",
                "remote-path",
                "system-status",
                "openstack-region-id",
            ),
            versions={"openstack-region-id": (14, 999)},
        ),
        NodeType(
            "pserver",
            ("hostname",),
            attributes=(
                "pserver-id",
                "pserver-name2",
                "ptnii-equip-name",
                "number-of-cpus",
                "disk-in-gigabytes",
                "ram-in-megabytes",
                "equip-type",
                "fqdn",
                "ipv4-oam-address",
                "prov-status",
            ),
            defaults={"in-maint": (False, 0)},
        ),
        NodeType(
            "generic-vnf",
            ("vnf-id",),
            required=("vnf-name", "vnf-type"),
            attributes=("prov-status", "orchestration-status"),
            children={"vf-modules": "vf-module"},
            defaults={"in-maint": (False, 0), "is-closed-loop-disabled": (False, 0)},
        ),
        NodeType(
            "vf-module",
            ("vf-module-id",),
            attributes=(
                "vf-module-name",
                "heat-stack-id",
                "orchestration-status",
                "model-invariant-id",
                "model-version-id",
                "model-customization-id",
                "module-index",
                "selflink",
            ),
            defaults={"is-base-vf-module": (False, 0), "automated-assignment": (False, 0)},
        ),
    )
}

#: Top-level containers: (namespace, plural) -> type. Their plural GET has maximumDepth 0.
TOP: dict[tuple[str, str], str] = {
    ("cloud-infrastructure", "cloud-regions"): "cloud-region",
    ("cloud-infrastructure", "pservers"): "pserver",
    ("network", "generic-vnfs"): "generic-vnf",
}
#: Plural containers whose GET allows no depth (maximumDepth=0).
SHALLOW_PLURALS = {"cloud-regions", "tenants", "pservers", "complexes", "generic-vnfs"}
SHALLOW_PLURALS.add("esr-system-info-list")


@dataclass(frozen=True)
class EdgeRule:
    """A cousin (non-containment) edge: label, multiplicity, which end it keeps alive."""

    label: str
    multiplicity: str  # MANY2ONE: the "from" end has at most one; ONE2MANY: the "to" end
    prevents_delete_of: str | None  # the type (one of the two ends) it blocks deleting


EDGES: dict[tuple[str, str], EdgeRule] = {
    ("pserver", "cloud-region"): EdgeRule(LOCATED_IN, "MANY2ONE", None),
    ("pserver", "availability-zone"): EdgeRule(MEMBER_OF, "MANY2ONE", "availability-zone"),
    ("vserver", "pserver"): EdgeRule(HOSTED_ON, "MANY2ONE", "pserver"),
    ("vserver", "flavor"): EdgeRule(USES, "MANY2ONE", "flavor"),
    ("vserver", "image"): EdgeRule(USES, "MANY2ONE", "image"),
    ("generic-vnf", "vserver"): EdgeRule(HOSTED_ON, "ONE2MANY", None),
    ("vf-module", "vserver"): EdgeRule(USES, "ONE2MANY", None),
}


def edge_rule(a: str, b: str) -> tuple[str, str, EdgeRule] | None:
    """The rule between two types, oriented (from, to, rule); None when there is none."""
    if (a, b) in EDGES:
        return a, b, EDGES[(a, b)]
    if (b, a) in EDGES:
        return b, a, EDGES[(b, a)]
    return None


def is_containment(a: str, b: str) -> bool:
    return b in TYPES[a].children.values() or a in TYPES[b].children.values()


#: A&AI error codes: AAI code -> (category, HTTP status, REST code, short text).
ERRORS: dict[int, tuple[int, int, int, str]] = {
    3000: (2, 400, 3000, "Invalid input performing %1 on %2"),
    3001: (6, 404, 3001, "Resource not found for %1 using id %2"),
    3102: (1, 400, 3102, "Error parsing input performing %1 on %2"),
    3302: (1, 401, 3301, "Not authenticated"),
    3303: (1, 403, 3300, "Too many objects would be returned by this request"),
    4009: (0, 400, 3000, "Invalid X-FromAppId in header"),
    4010: (0, 400, 3000, "Invalid X-TransactionId in header"),
    4016: (0, 400, 3000, 'The depth parameter must be a number or the string "all"'),
    6110: (4, 400, 3100, "Node cannot be deleted"),
    6114: (4, 404, 3001, "Node Not Found"),
    6120: (4, 400, 3000, "Bad Parameter Passed"),
    6127: (4, 404, 3001, "Edge Not Found"),
    6129: (4, 404, 3003, "Error making edge to target node"),
    6130: (4, 412, 3000, "Precondition Required"),
    6131: (4, 412, 3000, "Precondition Failed"),
    6135: (4, 412, 3000, "Resource version specified on create"),
    6140: (4, 400, 3000, "Edge multiplicity violated"),
    6145: (4, 400, 3000, "Cannot create a nested/containment edge via relationship"),
    9109: (0, 403, 3300, "Implied delete not allowed"),
}
#: Message templates of the REST codes.
REST_TEMPLATES: dict[int, str] = {
    3000: "Invalid input performing %1 on %2",
    3001: "Resource not found for %1 using id %2",
    3003: "Failed to make edge to missing target node of type %3 with keys %4 performing %1 on %2",
    3100: "Unsupported operation %1",
    3102: "Error parsing input performing %1 on %2",
    3300: "Unauthorized",
    3301: "Stale credentials",
}
