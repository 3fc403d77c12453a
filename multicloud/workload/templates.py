"""The create request of infra_workload, read into what Heat's ``POST /stacks`` takes (pure).

SO sends ``template_data`` in snake_case (the API's own names) or in camelCase (its
Jackson mapper ignores the codehaus annotations of the Heat model it is built from,
see the A&AI contract §6); both are accepted and Heat is always sent snake_case.
SDNC, OOF and user directives then override template parameters, in that order (the
user wins), but only parameters the template declares. ``files`` and ``environment``
go to Heat unchanged, so nested templates and ``get_file`` work.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import yaml

from multicloud.exceptions import BadRequest

log = logging.getLogger(__name__)

#: Heat's name of each ``template_data`` key, and the other spelling SO may use.
KEYS = {
    "stack_name": "stackName",
    "template": "template",
    "parameters": "parameters",
    "timeout_mins": "timeoutMinutes",
    "disable_rollback": "disableRollback",
    "environment": "environment",
    "files": "files",
}
#: OOF directive types that carry template parameters (the others are for OOF itself).
OOF_PARAMETER_TYPES = ("flavor_directives", "sriovNICNetwork_directives")


@dataclass
class StackRequest:
    """What Heat is asked to create."""

    stack_name: str
    template: str | dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)
    timeout_mins: int | None = None
    disable_rollback: bool | None = None
    environment: str | dict[str, Any] | None = None
    files: dict[str, str] | None = None
    #: Directive names the template does not declare (logged, never sent).
    dropped: list[str] = field(default_factory=list)

    def heat_body(self) -> dict[str, Any]:
        """The body of Heat's ``POST /stacks``, absent fields left out."""
        body: dict[str, Any] = {
            "stack_name": self.stack_name,
            "template": self.template,
            "parameters": self.parameters,
        }
        for name in ("timeout_mins", "disable_rollback", "environment", "files"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        return body


def parse(body: dict[str, Any]) -> StackRequest:
    """The stack to create from SO's request body; 400 naming the field when it is wrong."""
    check_template_type(body.get("template_type"))
    data = normalise(_object(body.get("template_data"), "template_data", required=True))
    if "template" not in data:
        raise BadRequest("template_data has no template", field="template_data.template")
    stack_name = data.get("stack_name") or _text(body, "vf-module-id")
    if not stack_name:
        raise BadRequest(
            "template_data has no stack_name (and no vf-module-id to name the stack after)",
            field="template_data.stack_name",
        )
    request = StackRequest(
        stack_name=stack_name,
        template=_template(data["template"]),
        parameters=dict(_object(data.get("parameters"), "template_data.parameters")),
        timeout_mins=_timeout(data.get("timeout_mins")),
        disable_rollback=_flag(data.get("disable_rollback"), "template_data.disable_rollback"),
        environment=_environment(data.get("environment")),
        files=_files(data.get("files")),
    )
    apply_directives(request, body, declared_parameters(request.template))
    return request


def check_template_type(value: Any) -> None:
    """``heat`` in any case; empty (SO's value when its inputs name none) means heat too."""
    if value in (None, ""):
        return
    if not isinstance(value, str) or value.strip().lower() != "heat":
        raise BadRequest(
            f"Bad parameters: template type {value!r} is not heat", field="template_type"
        )


def normalise(data: dict[str, Any]) -> dict[str, Any]:
    """``template_data`` with Heat's key names; 400 when both spellings disagree."""
    found: dict[str, Any] = {}
    for snake, camel in KEYS.items():
        given = [data[k] for k in dict.fromkeys((snake, camel)) if k in data]
        if len(given) == 2 and given[0] != given[1]:
            raise BadRequest(
                f"template_data has both {snake} and {camel}, with different values",
                field=f"template_data.{snake}",
            )
        if given and given[0] is not None:
            found[snake] = given[0]
    return found


# --------------------------------------------------------------------------- directives


def apply_directives(
    request: StackRequest, body: dict[str, Any], declared: set[str] | None
) -> None:
    """Override parameters from sdnc, then oof, then user directives (the user wins).

    Only names the template declares are set (``declared`` None: the template could
    not be read here, so every name is passed and Heat judges). Others are dropped.
    """
    for name, value in directive_values(body):
        if declared is not None and name not in declared:
            request.dropped.append(name)
            continue
        request.parameters[name] = value
    if request.dropped:
        log.info(
            "stack %s: directives for parameters the template does not declare dropped: %s",
            request.stack_name,
            ", ".join(sorted(set(request.dropped))),
        )


def directive_values(body: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every (parameter, value) the directives set, in the order they apply."""
    sdnc = _directive_object(body, "sdnc_directives")
    oof = _directive_object(body, "oof_directives")
    user = _directive_object(body, "user_directives")
    return [
        *_attributes(sdnc, "sdnc_directives"),
        *_oof_attributes(oof),
        *_attributes(user, "user_directives"),
    ]


def _directive_object(body: dict[str, Any], name: str) -> dict[str, Any]:
    """A directives object; SO may also pass it as the JSON text it received."""
    value = body.get(name)
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = json.loads(value)
        except ValueError:
            raise BadRequest(f"{name} is not a JSON object", field=name) from None
    return _object(value, name)


def _attributes(holder: dict[str, Any], where: str) -> list[tuple[str, Any]]:
    items = holder.get("attributes") or []
    if not isinstance(items, list):
        raise BadRequest(f"{where}.attributes must be a list", field=f"{where}.attributes")
    found = []
    for index, item in enumerate(items):
        at = f"{where}.attributes.{index}"
        if not isinstance(item, dict) or not isinstance(item.get("attribute_name"), str):
            raise BadRequest(f"{at} needs an attribute_name", field=f"{at}.attribute_name")
        found.append((item["attribute_name"], item.get("attribute_value")))
    return found


def _oof_attributes(oof: dict[str, Any]) -> list[tuple[str, Any]]:
    """OOF's placement answer: ``directives[type=vnfc].directives[flavor/sriov...].attributes``."""
    vnfcs = oof.get("directives") or []
    if not isinstance(vnfcs, list):
        raise BadRequest("oof_directives.directives must be a list", field="oof_directives")
    found = []
    for i, vnfc in enumerate(vnfcs):
        if not isinstance(vnfc, dict) or vnfc.get("type") != "vnfc":
            continue
        inner = vnfc.get("directives") or []
        if not isinstance(inner, list):
            raise BadRequest(
                f"oof_directives.directives.{i}.directives must be a list", field="oof_directives"
            )
        for j, directive in enumerate(inner):
            if isinstance(directive, dict) and directive.get("type") in OOF_PARAMETER_TYPES:
                where = f"oof_directives.directives.{i}.directives.{j}"
                found += _attributes(directive, where)
    return found


def declared_parameters(template: str | dict[str, Any]) -> set[str] | None:
    """The parameter names a HOT (``parameters``) or CFN (``Parameters``) template declares.

    None when the template cannot be read here: Heat then says what is wrong with it.
    """
    parsed = template
    if isinstance(template, str):
        try:
            parsed = yaml.safe_load(template)
        except yaml.YAMLError:
            return None
    if not isinstance(parsed, dict):
        return None
    section = parsed.get("parameters", parsed.get("Parameters")) or {}
    return {str(name) for name in section} if isinstance(section, dict) else None


# --------------------------------------------------------------------------- fields


def _object(value: Any, where: str, required: bool = False) -> dict[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{where} must be a JSON object", field=where)
    return value


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string", field=name)
    return value.strip()


def _template(value: Any) -> str | dict[str, Any]:
    if isinstance(value, dict) or (isinstance(value, str) and value.strip()):
        return value
    raise BadRequest(
        "template_data.template must be the template (YAML or JSON text, or an object)",
        field="template_data.template",
    )


def _timeout(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequest(
            "template_data.timeout_mins must be a whole number of minutes (1 or more)",
            field="template_data.timeout_mins",
        )
    return value


def _flag(value: Any, where: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise BadRequest(f"{where} must be true or false", field=where)


def _environment(value: Any) -> str | dict[str, Any] | None:
    if value is None or isinstance(value, str | dict):
        return value
    raise BadRequest(
        "template_data.environment must be the environment (YAML text or an object)",
        field="template_data.environment",
    )


def _files(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadRequest(
            "template_data.files must map file names to their contents (text)",
            field="template_data.files",
        )
    return value
