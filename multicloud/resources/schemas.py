"""JSON Schemas of the typed API: requests are validated against them, Swagger shows them.

Field names are the VIO contract's (camelCase); unknown fields are ignored, as
the reference did.
"""

from __future__ import annotations

from typing import Any

from multicloud.exceptions import BadRequest

STR = {"type": "string", "minLength": 1}
INT = {"type": "integer", "minimum": 0}
BOOL = {"type": "boolean"}
STR_LIST = {"type": "array", "items": STR}
DECORATION = {
    "vimId": {"type": "string"},
    "vimName": {"type": "string"},
    "tenantId": {"type": "string"},
    "cloud_owner": {"type": "string"},
    "cloud_region_id": {"type": "string"},
}
RETURN_CODE = {"returnCode": {"type": "integer", "enum": [0, 1], "description": "0 existed, 1 new"}}


def obj(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


# --------------------------------------------------------------------------- requests

FLAVOR_REQUEST = obj(
    {
        "id": STR,
        "name": STR,
        "vcpu": {"type": "integer", "minimum": 1},
        "memory": {"type": "integer", "minimum": 1, "description": "MB"},
        "disk": {**INT, "description": "GB"},
        "ephemeral": INT,
        "swap": INT,
        "isPublic": BOOL,
        "extraSpecs": {
            "type": "array",
            "items": obj({"keyName": STR, "value": {"type": "string"}}, ("keyName", "value")),
        },
    },
    ("name", "vcpu", "memory"),
)

BOOT = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"type": "integer", "enum": [1, 2], "description": "1 volume, 2 image"},
        "volumeId": STR,
        "imageId": STR,
    },
}
SERVER_REQUEST = obj(
    {
        "id": STR,
        "name": STR,
        "flavorId": {**STR, "description": "flavor id or name"},
        "boot": BOOT,
        "nicArray": {
            "type": "array",
            "description": "absent: Nova picks ('auto'); empty: no network",
            "items": obj({"portId": STR, "networkId": STR}),
        },
        "volumeArray": {"type": "array", "items": obj({"volumeId": STR}, ("volumeId",))},
        "availabilityZone": STR,
        "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
        "userdata": {"type": "string", "description": "plain text (base64-encoded here)"},
        "securityGroups": STR_LIST,
        "serverGroup": {"type": "string"},
        "contextArray": {
            "type": "array",
            "items": obj(
                {"dest_path": STR, "source_data_base64": {"type": "string"}},
                ("dest_path", "source_data_base64"),
            ),
        },
    },
    ("name", "flavorId", "boot"),
)
ACTIONS = ("os-start", "os-stop", "reboot", "pause", "unpause", "suspend", "resume")
SERVER_ACTION = {
    "type": "object",
    "description": "exactly one of the actions",
    "minProperties": 1,
    "maxProperties": 1,
    "properties": {
        **{
            name: {"type": ["null", "object"], "maxProperties": 0}
            for name in ACTIONS
            if name != "reboot"
        },
        "reboot": obj({"type": {"type": "string", "enum": ["SOFT", "HARD"]}}),
    },
    "additionalProperties": False,
}

NETWORK_REQUEST = obj(
    {
        "id": STR,
        "name": STR,
        "shared": BOOL,
        "networkType": STR,
        "physicalNetwork": STR,
        "segmentationId": INT,
        "vlanTransparent": BOOL,
        "routerExternal": BOOL,
    },
    ("name",),
)
POOL = obj({"start": STR, "end": STR}, ("start", "end"))
ROUTE = obj({"destination": STR, "nexthop": STR}, ("destination", "nexthop"))
SUBNET_REQUEST = obj(
    {
        "id": STR,
        "name": STR,
        "networkId": STR,
        "cidr": STR,
        "ipVersion": {"type": "integer", "enum": [4, 6]},
        "enableDhcp": BOOL,
        "gatewayIp": STR,
        "dnsNameservers": STR_LIST,
        "hostRoutes": {"type": "array", "items": ROUTE},
        "allocationPools": {"type": "array", "items": POOL},
    },
    ("name", "networkId", "cidr", "ipVersion"),
)
PORT_REQUEST = obj(
    {
        "id": STR,
        "name": STR,
        "networkId": STR,
        "subnetId": STR,
        "ip": {
            "anyOf": [STR, STR_LIST],
            "description": "fixed IP(s) on subnetId: 'a,b' or a list",
        },
        "macAddress": STR,
        "vnicType": STR,
        "securityGroups": {**STR_LIST, "description": "security group ids"},
    },
    ("name", "networkId"),
)
VOLUME_REQUEST = obj(
    {
        "name": STR,
        "volumeSize": {"type": "integer", "minimum": 1, "description": "GB"},
        "volumeType": STR,
        "availabilityZone": STR,
        "imageId": {**STR, "description": "image id or name; absent: a blank volume"},
    },
    ("name", "volumeSize"),
)

# --------------------------------------------------------------------------- answers

FLAVOR = obj(
    {
        **DECORATION,
        "id": STR,
        "name": STR,
        "vcpu": INT,
        "memory": INT,
        "disk": INT,
        "ephemeral": INT,
        "swap": INT,
        "isPublic": BOOL,
        "extraSpecs": FLAVOR_REQUEST["properties"]["extraSpecs"],
    }
)
SERVER = obj(
    {
        **DECORATION,
        "id": STR,
        "name": STR,
        "status": STR,
        "flavorId": STR,
        "boot": BOOT,
        "nicArray": {"type": "array", "items": obj({"portId": STR})},
        "volumeArray": SERVER_REQUEST["properties"]["volumeArray"],
        "availabilityZone": {"type": ["string", "null"]},
        "metadata": {"type": "object"},
        "securityGroups": STR_LIST,
        "serverGroup": {"type": "string"},
        "contextArray": {"type": "array"},
        "userdata": {"type": ["string", "null"]},
    }
)
NETWORK = obj(
    {
        **DECORATION,
        "id": STR,
        "name": STR,
        "status": STR,
        "shared": BOOL,
        "networkType": {"type": ["string", "null"]},
        "physicalNetwork": {"type": ["string", "null"]},
        "segmentationId": {"type": ["integer", "null"]},
        "vlanTransparent": {"type": ["boolean", "null"]},
        "routerExternal": BOOL,
    }
)
SUBNET = obj(
    {
        **DECORATION,
        **{k: v for k, v in SUBNET_REQUEST["properties"].items()},
        "gatewayIp": {"type": ["string", "null"]},
        "dnsNameServers": {**STR_LIST, "description": "dnsNameservers, as VIO spelled it"},
    }
)
PORT = obj(
    {
        **DECORATION,
        "id": STR,
        "name": {"type": "string"},
        "status": STR,
        "networkId": STR,
        "subnetId": {"type": ["string", "null"]},
        "ip": {"type": "string", "description": "fixed IPs, comma-separated"},
        "macAddress": STR,
        "vnicType": {"type": ["string", "null"]},
        "securityGroups": STR_LIST,
    }
)
ATTACHMENT = obj(
    {
        "id": STR,
        "Id": {**STR, "description": "id, as VIO spelled it"},
        "volumeId": STR,
        "serverId": STR,
        "device": {"type": ["string", "null"]},
        "hostName": {"type": ["string", "null"]},
    }
)
VOLUME = obj(
    {
        **DECORATION,
        "id": STR,
        "name": {"type": ["string", "null"]},
        "status": STR,
        "createTime": STR,
        "volumeSize": INT,
        "volumeType": {"type": ["string", "null"]},
        "size": {**INT, "description": "volumeSize, as VIO spelled it"},
        "type": {"type": ["string", "null"], "description": "volumeType, as VIO spelled it"},
        "availabilityZone": {"type": ["string", "null"]},
        "imageId": {"type": ["string", "null"]},
        "attachments": {"type": "array", "items": ATTACHMENT},
    }
)
HOSTS = obj(
    {
        **DECORATION,
        "hosts": {"type": "array", "items": obj({"service": STR, "name": STR, "zone": STR})},
    }
)
HOST = obj(
    {
        **DECORATION,
        "host": obj(
            {
                "name": STR,
                "id": STR,
                "state": STR,
                "status": STR,
                "cpu": INT,
                "cpuUsed": INT,
                "memory_mb": INT,
                "memoryUsed_mb": INT,
                "disk_gb": INT,
                "diskUsed_gb": INT,
            }
        ),
    }
)
LIMITS = {
    "type": "object",
    "description": "Nova and Cinder absolute limits (max*/total*Used) and Neutron quotas "
    "(network, subnet, port, ...; <name>_used the usage)",
    "properties": {**DECORATION, "maxTotalCores": INT, "maxTotalVolumeGigabytes": INT},
    "additionalProperties": {"type": "integer"},
}
EXTENSIONS = obj({"extensions": {"type": "array", "items": {"type": "object"}}})


def created(schema: dict[str, Any]) -> dict[str, Any]:
    """The answer of a POST: the resource and its ``returnCode``."""
    return {**schema, "properties": {**schema["properties"], **RETURN_CODE}}


def listing(key: str, item: dict[str, Any]) -> dict[str, Any]:
    """The answer of a list: ``{key: [items]}`` and the decoration."""
    inner = {k: v for k, v in item["properties"].items() if k not in DECORATION}
    return obj({**DECORATION, key: {"type": "array", "items": obj(inner)}})


# --------------------------------------------------------------------------- validation


def validate(body: Any, schema: dict[str, Any]) -> dict[str, Any]:
    """``body`` if it matches ``schema``; else 400 naming the first wrong field."""
    import jsonschema

    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(body), key=lambda e: (len(e.path), list(e.path)))
    if not errors:
        return body
    error = errors[0]
    field = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "required":
        missing = next(name for name in error.validator_value if name not in error.instance)
        field = f"{field}.{missing}" if field else missing
        raise BadRequest(f"missing field {field!r}", field=field)
    if not field:
        raise BadRequest(f"request body: {error.message}")
    raise BadRequest(f"field {field!r}: {error.message}", field=field)
