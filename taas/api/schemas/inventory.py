"""API shapes of the minimal Neutron inventory: networks and ports."""
from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, StrictBool, field_validator

from taas.api.schemas.common import (NO_NUL, Body, Description, IpAddress, Name, OwnedCreate,
                                     OwnedPublic, Public, ResourceId, collection, envelope)

_MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
_STANDARD = frozenset({"id", "status", "created_at", "updated_at"})
HostId = Annotated[str, Field(max_length=255, pattern=NO_NUL)]
Tag = Annotated[str, Field(min_length=1, max_length=60, pattern=NO_NUL)]
# Unicast only: the low bit of the first octet is clear.
MacAddress = Annotated[str, Field(pattern=r"^[0-9A-Fa-f][02468AaCcEe]([:-][0-9A-Fa-f]{2}){5}$",
                                   json_schema_extra={"not": {"pattern": "^(00[:-]){5}00$"}})]


# --------------------------------------------------------------------------- networks
class NetworkCreate(OwnedCreate):
    read_only = _STANDARD | {"segmentation_id", "provider:segmentation_id",
                             "provider:network_type", "subnets"}
    name: Name = ""
    description: Description = ""
    admin_state_up: StrictBool = True
    shared: StrictBool = False


class NetworkUpdate(Body):
    action = "update"
    read_only = NetworkCreate.read_only | {"project_id", "tenant_id"}
    name: Name = None
    description: Description = None
    admin_state_up: StrictBool = None
    shared: StrictBool = None


class Network(OwnedPublic):
    shared: bool = False
    admin_state_up: bool = True
    status: str = "ACTIVE"
    segmentation_id: int = 0
    provider_segmentation_id: int = Field(0, alias="provider:segmentation_id")
    provider_network_type: str = Field("vxlan", alias="provider:network_type")
    subnets: list[str] = []
    created_at: str = ""
    updated_at: str = ""


NetworkCreateRequest = envelope("NetworkCreateRequest", "network", NetworkCreate)
NetworkUpdateRequest = envelope("NetworkUpdateRequest", "network", NetworkUpdate)
NetworkResponse = envelope("NetworkResponse", "network", Network, strict=False)
NetworkList = collection("NetworkList", "networks", Network)


# --------------------------------------------------------------------------- ports
class FixedIp(Body):
    subnet_id: Annotated[str, Field(max_length=255, pattern=NO_NUL)] = None
    ip_address: IpAddress


class FixedIpPublic(Public):
    subnet_id: str | None = None
    ip_address: str = ""


def check_mac(value: str) -> str:
    mac = value.strip().lower().replace("-", ":")
    if not _MAC.match(mac):
        raise ValueError(f"'{value}' is not a valid MAC address")
    if int(mac[:2], 16) & 1 or mac == "00:00:00:00:00:00":
        raise ValueError(f"'{value}' is a multicast or null MAC address")
    return mac


class PortCreate(OwnedCreate):
    read_only = _STANDARD | {"binding:vif_type"}
    network_id: ResourceId
    name: Name = ""
    description: Description = ""
    mac_address: MacAddress = None
    fixed_ips: list[FixedIp] = []
    device_id: Name = ""
    device_owner: Name = ""
    port_security_enabled: StrictBool = True
    binding_host_id: HostId = Field("", alias="binding:host_id")
    admin_state_up: StrictBool = True
    tags: list[Tag] = []

    @field_validator("mac_address")
    @classmethod
    def _valid_mac(cls, value: str | None) -> str | None:
        return None if value is None else check_mac(value)


class PortUpdate(Body):
    action = "update"
    read_only = PortCreate.read_only | {"network_id", "project_id", "tenant_id", "mac_address",
                                        "fixed_ips", "port_security_enabled", "tags"}
    name: Name = None
    description: Description = None
    binding_host_id: HostId = Field(None, alias="binding:host_id")
    admin_state_up: StrictBool = None
    device_id: Name = None
    device_owner: Name = None


class Port(OwnedPublic):
    network_id: str = ""
    mac_address: str = ""
    fixed_ips: list[FixedIpPublic] = []
    device_id: str = ""
    device_owner: str = ""
    port_security_enabled: bool = True
    binding_host_id: str = Field("", alias="binding:host_id")
    binding_vif_type: str = Field("unbound", alias="binding:vif_type")
    admin_state_up: bool = True
    status: str = "DOWN"
    tags: list[str] = []
    created_at: str = ""
    updated_at: str = ""


PortCreateRequest = envelope("PortCreateRequest", "port", PortCreate)
PortUpdateRequest = envelope("PortUpdateRequest", "port", PortUpdate)
PortResponse = envelope("PortResponse", "port", Port, strict=False)
PortList = collection("PortList", "ports", Port)
