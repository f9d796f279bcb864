"""API shapes of the TaaS resources: tap services, tap flows and tap mirrors."""
from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from taas.api.schemas.common import (Body, Description, IpAddress, Name, OwnedCreate,
                                     OwnedPublic, ResourceId, collection,
                                     drop_null_defaults, envelope, integer)

# The reference's syntax (neutron-lib), plus what it lacks: every VLAN id is 0-4095 and
# every range is ordered.
VLAN_FILTER_RE = re.compile(r"^([0-9]+(-[0-9]+)?)(,([0-9]+(-[0-9]+)?))*$")
# The same syntax with every number spelled 0-4095, for the JSON schema.
_VID = r"0*([0-9]{1,3}|[1-3][0-9]{3}|40[0-8][0-9]|409[0-5])"
VLAN_FILTER_SCHEMA = rf"^{_VID}(-{_VID})?(,{_VID}(-{_VID})?)*$"
MAX_VLAN = 4095
# Tunnel id limits per encapsulation: a GRE key is 32 bits, an ERSPAN v1 session id 10.
TUNNEL_ID_MAX = {"gre": 2**32 - 1, "erspanv1": 1023}
DIRECTIONS = ("IN", "OUT", "BOTH")
# Decimal strings within each limit, for the JSON schema (the CLI sends ids as strings).
_GRE_KEY = (r"^0*([0-9]{1,9}|[1-3][0-9]{9}|4[01][0-9]{8}|42[0-8][0-9]{7}|429[0-3][0-9]{6}"
            r"|4294[0-8][0-9]{5}|42949[0-5][0-9]{4}|429496[0-6][0-9]{3}|4294967[01][0-9]{2}"
            r"|42949672[0-8][0-9]|429496729[0-5])$")
_ERSPAN_ID = r"^0*([0-9]{1,3}|10[01][0-9]|102[0-3])$"
_ERSPAN_SCHEMA = {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 1023},
                            {"type": "string", "pattern": _ERSPAN_ID}]}
_STATUS = frozenset({"id", "status", "status_reason", "created_at", "updated_at"})


class _NameOnlyUpdate(Body):
    """Only name and description ever change after creation."""
    action = "update"
    name: Name = None
    description: Description = None


# --------------------------------------------------------------------------- tap services
class TapServiceCreate(OwnedCreate):
    read_only = _STATUS | {"session_id"}
    name: Name = ""
    description: Description = ""
    port_id: ResourceId


class TapServiceUpdate(_NameOnlyUpdate):
    read_only = TapServiceCreate.read_only | {"port_id", "project_id", "tenant_id"}


class TapService(OwnedPublic):
    port_id: str = ""
    status: str = "DOWN"
    status_reason: str = ""
    session_id: int | None = Field(None, description="Mirror-session id; admins only.")


TapServiceCreateRequest = envelope("TapServiceCreateRequest", "tap_service", TapServiceCreate)
TapServiceUpdateRequest = envelope("TapServiceUpdateRequest", "tap_service", TapServiceUpdate)
TapServiceResponse = envelope("TapServiceResponse", "tap_service", TapService, strict=False)
TapServiceList = collection("TapServiceList", "tap_services", TapService)


# --------------------------------------------------------------------------- tap flows
def check_vlan_filter(value: str | None) -> str | None:
    if value is None:
        return None
    if not VLAN_FILTER_RE.match(value):
        raise ValueError(f"'{value}' is not a list of VLAN ids and ranges like 10,20-30")
    for part in value.split(","):
        first, _, last = part.partition("-")
        low, high = int(first), int(last or first)
        if high > MAX_VLAN:
            raise ValueError(f"VLAN id {high} in '{value}' is above {MAX_VLAN}")
        if low > high:
            raise ValueError(f"range {part} in '{value}' is reversed")
    return value


class TapFlowCreate(OwnedCreate):
    read_only = _STATUS
    name: Name = ""
    description: Description = ""
    tap_service_id: ResourceId
    source_port: ResourceId
    direction: Literal["IN", "OUT", "BOTH"]
    vlan_filter: Annotated[str, Field(max_length=1024, pattern=VLAN_FILTER_SCHEMA)] | None = None

    @field_validator("vlan_filter")
    @classmethod
    def _valid_vlan_filter(cls, value: str | None) -> str | None:
        return check_vlan_filter(value)


class TapFlowUpdate(_NameOnlyUpdate):
    read_only = TapFlowCreate.read_only | {"tap_service_id", "source_port", "direction",
                                           "vlan_filter", "project_id", "tenant_id"}


class TapFlow(OwnedPublic):
    tap_service_id: str = ""
    source_port: str = ""
    direction: str = ""
    vlan_filter: str | None = None
    status: str = "DOWN"
    status_reason: str = ""


TapFlowCreateRequest = envelope("TapFlowCreateRequest", "tap_flow", TapFlowCreate)
TapFlowUpdateRequest = envelope("TapFlowUpdateRequest", "tap_flow", TapFlowUpdate)
TapFlowResponse = envelope("TapFlowResponse", "tap_flow", TapFlow, strict=False)
TapFlowList = collection("TapFlowList", "tap_flows", TapFlow)


# --------------------------------------------------------------------------- tap mirrors
# The CLI sends tunnel ids as strings: accept decimal strings as well as integers.
TunnelId = integer(0, TUNNEL_ID_MAX["gre"]) | Annotated[str, Field(pattern=_GRE_KEY)]


def _directions_schema(schema: dict) -> None:
    """At least one direction, and BOTH alone (it already covers IN and OUT)."""
    drop_null_defaults(schema)
    schema["anyOf"] = [
        {"required": ["BOTH"], "not": {"anyOf": [{"required": ["IN"]}, {"required": ["OUT"]}]}},
        {"not": {"required": ["BOTH"]}, "minProperties": 1}]


class Directions(BaseModel):
    """Tunnel id per mirrored direction; BOTH is one tunnel carrying both ways."""
    model_config = ConfigDict(extra="forbid", json_schema_extra=_directions_schema)
    IN: TunnelId = None
    OUT: TunnelId = None
    BOTH: TunnelId = None

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data):
        if isinstance(data, dict):
            unknown = sorted(str(k) for k in data if k not in DIRECTIONS)
            if unknown:
                raise ValueError(f"direction(s) {', '.join(unknown)} unknown: use IN, OUT "
                                 "and/or BOTH")
        return data

    def as_ints(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.model_dump().items() if v is not None}


def _tap_mirror_schema(schema: dict) -> None:
    """ERSPAN v1 session ids have 10 bits: say so for erspanv1 mirrors."""
    drop_null_defaults(schema)
    schema["if"] = {"properties": {"mirror_type": {"const": "erspanv1"}},
                    "required": ["mirror_type"]}
    schema["then"] = {"properties": {"directions": {"properties": {
        direction: _ERSPAN_SCHEMA for direction in DIRECTIONS}}}}


class TapMirrorCreate(OwnedCreate):
    model_config = ConfigDict(json_schema_extra=_tap_mirror_schema)
    read_only = _STATUS
    name: Name = ""
    description: Description = ""
    port_id: ResourceId
    directions: Directions
    remote_ip: IpAddress
    mirror_type: Literal["gre", "erspanv1"]

    @model_validator(mode="after")
    def _valid_tunnels(self):
        tunnels = self.directions.as_ints()
        if not tunnels:
            raise ValueError("directions needs at least one of IN, OUT, BOTH")
        if "BOTH" in tunnels and len(tunnels) > 1:
            raise ValueError("directions: BOTH already covers IN and OUT")
        limit = TUNNEL_ID_MAX[self.mirror_type]
        for direction, tunnel_id in tunnels.items():
            if tunnel_id > limit:
                raise ValueError(f"directions: {direction} tunnel id {tunnel_id} is above "
                                 f"{limit}, the largest {self.mirror_type} id")
        return self


class TapMirrorUpdate(_NameOnlyUpdate):
    read_only = TapMirrorCreate.read_only | {"port_id", "directions", "remote_ip",
                                             "mirror_type", "project_id", "tenant_id"}


class TapMirror(OwnedPublic):
    port_id: str = ""
    directions: dict[str, int] = {}
    remote_ip: str = ""
    mirror_type: str = ""
    status: str = "DOWN"
    status_reason: str = ""


TapMirrorCreateRequest = envelope("TapMirrorCreateRequest", "tap_mirror", TapMirrorCreate)
TapMirrorUpdateRequest = envelope("TapMirrorUpdateRequest", "tap_mirror", TapMirrorUpdate)
TapMirrorResponse = envelope("TapMirrorResponse", "tap_mirror", TapMirror, strict=False)
TapMirrorList = collection("TapMirrorList", "tap_mirrors", TapMirror)
