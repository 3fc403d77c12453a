"""The infra_workload bodies as the Swagger documents show them (requests are read by
:mod:`multicloud.workload.templates`, which accepts both spellings of ``template_data``)."""

from __future__ import annotations

from typing import Any

from multicloud.routing import Doc

TEXT = {"type": "string"}
ATTRIBUTES = {
    "type": "object",
    "properties": {
        "attributes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["attribute_name"],
                "properties": {"attribute_name": TEXT, "attribute_value": {}},
            },
        }
    },
}
TEMPLATE_DATA = {
    "type": "object",
    "description": "Heat's stack-create fields, snake_case or camelCase (stackName, "
    "timeoutMinutes, disableRollback); sent to Heat in snake_case",
    "required": ["template"],
    "properties": {
        "stack_name": {**TEXT, "description": "default: vf-module-id"},
        "template": {"type": ["string", "object"], "description": "HOT or CFN, YAML/JSON"},
        "parameters": {"type": "object"},
        "timeout_mins": {"type": "integer", "minimum": 1},
        "disable_rollback": {"type": "boolean"},
        "environment": {"type": ["string", "object"]},
        "files": {
            "type": "object",
            "description": "nested templates and get_file contents, passed to Heat as they are",
            "additionalProperties": TEXT,
        },
    },
}
CREATE_REQUEST = {
    "type": "object",
    "required": ["template_data"],
    "properties": {
        "generic-vnf-id": TEXT,
        "vf-module-id": TEXT,
        "vf-module-model-invariant-id": TEXT,
        "vf-module-model-version-id": TEXT,
        "vf-module-model-customization-id": TEXT,
        "template_type": {**TEXT, "description": "heat (any case); empty: heat"},
        "template_data": TEMPLATE_DATA,
        "sdnc_directives": {
            **ATTRIBUTES,
            "description": "applied first; only to parameters the template declares",
        },
        "oof_directives": {
            "type": "object",
            "description": "directives[type=vnfc].directives[flavor_directives|"
            "sriovNICNetwork_directives].attributes, applied after sdnc",
        },
        "user_directives": {**ATTRIBUTES, "description": "applied last (the user wins)"},
    },
}
HEATBRIDGE_REQUEST = {
    "type": "object",
    "properties": {
        "generic-vnf-id": {**TEXT, "description": "default: the stack's vnf_id parameter"},
        "vf-module-id": {**TEXT, "description": "default: the stack's vf_module_id parameter"},
    },
}


def answer(reason: dict[str, Any], statuses: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "template_type": {**TEXT, "enum": ["HEAT"]},
            "workload_id": {**TEXT, "description": "the stack id"},
            "workload_status": {**TEXT, "description": statuses},
            "workload_status_reason": reason,
        },
    }


CREATED = answer(
    {"type": "object", "properties": {"id": TEXT, "links": {"type": "array"}}},
    "CREATE_IN_PROGRESS",
)
STACK = answer(
    {
        "type": "object",
        "properties": {
            "stack": {"type": "object", "description": "the Heat stack, outputs included"},
            "heatbridge": {
                "type": "object",
                "description": "once asked for: status, reason, vservers, l-interfaces, skipped",
            },
        },
    },
    "the stack's status (CREATE_COMPLETE, DELETE_IN_PROGRESS, ...), or the heatbridge's "
    "(UPDATE_IN_PROGRESS, UPDATE_COMPLETE, UPDATE_FAILED)",
)
FOUND = answer(
    {"type": "object", "properties": {"stacks": {"type": "array", "items": {"type": "object"}}}},
    "GET_COMPLETE",
)
STARTED = answer(TEXT, "UPDATE_IN_PROGRESS")

COLLECTION_DOCS = {
    "GET": Doc(200, None, FOUND, ("name", "id")),
    "POST": Doc(201, CREATE_REQUEST, CREATED),
}
ITEM_DOCS = {
    "GET": Doc(200, None, STACK),
    "POST": Doc(202, HEATBRIDGE_REQUEST, STARTED),
    "DELETE": Doc(204),
}
