"""Neutron networks, subnets and ports: VIO request fields to Neutron and back."""

from __future__ import annotations

import pytest

from multicloud.exceptions import BadRequest
from multicloud.resources import network


def test_network_fields_become_neutrons_provider_attributes():
    body = {
        "name": "oam",
        "networkType": "vlan",
        "physicalNetwork": "physnet1",
        "segmentationId": 202,
        "vlanTransparent": True,
        "routerExternal": False,
    }
    assert network._network_request(body) == {
        "name": "oam",
        "shared": False,
        "provider:network_type": "vlan",
        "provider:physical_network": "physnet1",
        "provider:segmentation_id": 202,
        "vlan_transparent": True,
        "router:external": False,
    }


def test_the_gateway_reaches_neutron_and_dns_servers_come_back_under_both_spellings():
    body = {"name": "s", "networkId": "n", "cidr": "10.0.0.0/24", "ipVersion": 4}
    request = network._subnet_request({**body, "gatewayIp": "10.0.0.254"})
    assert request["gateway_ip"] == "10.0.0.254"
    shaped = network.subnet_shape({"id": "s1", "dns_nameservers": ["10.0.0.53"]})
    assert shaped["dnsNameservers"] == shaped["dnsNameServers"] == ["10.0.0.53"]


@pytest.mark.parametrize("ips", ["10.0.0.5, 10.0.0.6", ["10.0.0.5", "10.0.0.6"]])
def test_port_ips_are_fixed_ips_on_the_subnet(ips):
    request = network._port_request({"name": "p", "networkId": "n", "subnetId": "s", "ip": ips})
    assert request["fixed_ips"] == [
        {"subnet_id": "s", "ip_address": "10.0.0.5"},
        {"subnet_id": "s", "ip_address": "10.0.0.6"},
    ]


def test_a_port_ip_without_its_subnet_is_400_naming_subnet_id():
    with pytest.raises(BadRequest) as raised:
        network._port_request({"name": "p", "networkId": "n", "ip": "10.0.0.5"})
    assert raised.value.extra["field"] == "subnetId"
