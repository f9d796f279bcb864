"""Desired state of one host (what the server sends an agent) and the facts OVS supplies."""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping


@dataclasses.dataclass(frozen=True, order=True)
class TapServiceSpec:
    """A tap service whose destination port is bound to this host: copies end here."""
    id: str
    port_id: str
    session_id: int


@dataclasses.dataclass(frozen=True, order=True)
class TapFlowSpec:
    """A tap flow whose source port is bound to this host: copies start here."""
    id: str
    tap_service_id: str
    source_port_id: str
    direction: str            # "IN" | "OUT" | "BOTH"
    session_id: int           # the tap service's mirror-session id (tunnel key)
    dest_host: str | None     # host of the tap service's port; None while unbound
    dest_tunnel_ip: str | None  # that host's underlay address; None if unknown
    vlan_filter: str | None = None


@dataclasses.dataclass(frozen=True)
class HostState:
    """Everything one host's agent must make true, as computed by the server."""
    host: str
    generation: int
    tap_services: tuple[TapServiceSpec, ...] = ()
    tap_flows: tuple[TapFlowSpec, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "HostState":
        return cls(
            host=data["host"],
            generation=int(data["generation"]),
            tap_services=tuple(sorted(TapServiceSpec(**t) for t in data.get("tap_services", ()))),
            tap_flows=tuple(sorted(TapFlowSpec(**t) for t in data.get("tap_flows", ()))),
        )


@dataclasses.dataclass(frozen=True)
class HostFacts:
    """What the agent read from this host's OVS, the other input of the compiler."""
    host: str
    tunnel_ip: str | None
    # Neutron port id (Interface external_ids:iface-id) -> ofport on br-int.
    ofports: Mapping[str, int] = dataclasses.field(default_factory=dict)
