"""The create request read into Heat's body: key spellings, directives, declared parameters."""

from __future__ import annotations

import json

import pytest

from multicloud.exceptions import BadRequest
from multicloud.workload import templates

HOT = """
heat_template_version: 2018-08-31
parameters:
  vm_name: {type: string}
  flavor: {type: string}
  cidr: {type: string}
resources: {}
"""


def attributes(**values) -> dict:
    return {"attributes": [{"attribute_name": k, "attribute_value": v} for k, v in values.items()]}


def oof(**values) -> dict:
    inner = [{"type": "flavor_directives", **attributes(**values)}]
    return {"directives": [{"id": "vm_0", "type": "vnfc", "directives": inner}]}


def test_camel_case_keys_reach_heat_in_snake_case():
    body = {
        "template_type": "HEAT",
        "template_data": {
            "stackName": "vfw_1",
            "template": HOT,
            "parameters": {"vm_name": "a"},
            "timeoutMinutes": 60,
            "disableRollback": True,
            "environment": "parameters: {}",
            "files": {"nested.yaml": "x"},
        },
    }
    assert templates.parse(body).heat_body() == {
        "stack_name": "vfw_1",
        "template": HOT,
        "parameters": {"vm_name": "a"},
        "timeout_mins": 60,
        "disable_rollback": True,
        "environment": "parameters: {}",
        "files": {"nested.yaml": "x"},
    }


def test_snake_case_keys_and_absent_options_are_left_out():
    body = {"template_data": {"stack_name": "s", "template": {"heat_template_version": "x"}}}
    assert templates.parse(body).heat_body() == {
        "stack_name": "s",
        "template": {"heat_template_version": "x"},
        "parameters": {},
    }


def test_both_spellings_may_agree_but_not_differ():
    same = {"stack_name": "s", "stackName": "s", "template": HOT}
    assert templates.normalise(same) == {"stack_name": "s", "template": HOT}
    with pytest.raises(BadRequest) as caught:
        templates.normalise({"timeout_mins": 5, "timeoutMinutes": 6})
    assert caught.value.extra["field"] == "template_data.timeout_mins"


def test_the_stack_is_named_after_the_vf_module_when_the_name_is_missing():
    body = {"vf-module-id": "module-7", "template_data": {"template": HOT}}
    assert templates.parse(body).stack_name == "module-7"


@pytest.mark.parametrize("kind", [None, "", "heat", "HEAT", " Heat "])
def test_heat_in_any_case_or_no_type_at_all_is_heat(kind):
    templates.check_template_type(kind)


@pytest.mark.parametrize("kind", ["tosca", "helm", 5])
def test_any_other_template_type_is_refused(kind):
    with pytest.raises(BadRequest, match="is not heat"):
        templates.check_template_type(kind)


def test_directives_apply_sdnc_then_oof_then_user_to_declared_parameters_only():
    body = {
        "template_data": {
            "stack_name": "s",
            "template": HOT,
            "parameters": {"vm_name": "given", "flavor": "m1.small", "other": "kept"},
        },
        "sdnc_directives": attributes(vm_name="sdnc", cidr="10.0.0.0/24", undeclared="x"),
        "oof_directives": oof(flavor="onap.hpa.flavor31", vm_name="oof"),
        "user_directives": attributes(vm_name="user"),
    }
    request = templates.parse(body)
    assert request.parameters == {
        "vm_name": "user",
        "flavor": "onap.hpa.flavor31",
        "cidr": "10.0.0.0/24",
        "other": "kept",  # given parameters are not checked: Heat does that
    }
    assert request.dropped == ["undeclared"]


def test_directives_may_come_as_json_text_as_so_received_them():
    body = {
        "template_data": {"stack_name": "s", "template": HOT},
        "user_directives": json.dumps(attributes(cidr="10.1.0.0/24")),
        "sdnc_directives": "",
    }
    assert templates.parse(body).parameters == {"cidr": "10.1.0.0/24"}


def test_oof_keeps_only_vnfc_flavor_and_sriov_directives():
    body = {
        "oof_directives": {
            "directives": [
                {"type": "vnfc", "directives": [{"type": "placement", **attributes(a=1)}]},
                {
                    "type": "vnfc",
                    "directives": [{"type": "sriovNICNetwork_directives", **attributes(b=2)}],
                },
                {
                    "type": "service",
                    "directives": [{"type": "flavor_directives", **attributes(c=3)}],
                },
            ]
        }
    }
    assert templates.directive_values(body) == [("b", 2)]


@pytest.mark.parametrize(
    ("template", "declared"),
    [
        (HOT, {"vm_name", "flavor", "cidr"}),
        ({"heat_template_version": "2018-08-31"}, set()),
        ('{"AWSTemplateFormatVersion": "2010-09-09", "Parameters": {"KeyName": {}}}', {"KeyName"}),
        ("heat_template_version: [unclosed", None),
        ("just text", None),
    ],
)
def test_declared_parameters_of_hot_and_cfn_templates(template, declared):
    assert templates.declared_parameters(template) == declared


def test_an_unreadable_template_gets_every_directive_for_heat_to_judge():
    body = {
        "template_data": {"stack_name": "s", "template": "heat_template_version: [unclosed"},
        "user_directives": attributes(anything="x"),
    }
    assert templates.parse(body).parameters == {"anything": "x"}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"stack_name": "s", "template": ""}, "template_data.template"),
        ({"stack_name": "s", "template": HOT, "parameters": []}, "template_data.parameters"),
        (
            {"stack_name": "s", "template": HOT, "timeout_mins": "soon"},
            "template_data.timeout_mins",
        ),
        (
            {"stack_name": "s", "template": HOT, "disable_rollback": "maybe"},
            "template_data.disable_rollback",
        ),
        ({"stack_name": "s", "template": HOT, "files": {"a.yaml": 1}}, "template_data.files"),
        ({"stack_name": "s", "template": HOT, "environment": 3}, "template_data.environment"),
    ],
)
def test_a_wrong_field_is_400_naming_it(data, field):
    with pytest.raises(BadRequest) as caught:
        templates.parse({"template_data": data})
    assert caught.value.extra["field"] == field


def test_text_numbers_and_flags_are_read_as_so_may_send_them():
    data = {"stack_name": "s", "template": HOT, "timeout_mins": "30", "disable_rollback": "false"}
    request = templates.parse({"template_data": data})
    assert request.timeout_mins == 30 and request.disable_rollback is False
