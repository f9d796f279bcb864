"""The lab's state file: what it registered and built, written before each thing is made."""
from __future__ import annotations

import dataclasses
import json
import os
import threading
from pathlib import Path
from typing import Any

STATE_FILE = "lab-state.json"
_LOCK = threading.RLock()   # hosts are built in parallel threads that share one state


def ns_prefix(lab: str) -> str:
    """Every namespace of lab `lab` starts with this (lab names contain no '-')."""
    return f"taas-{lab}-"


def fabric_netns(lab: str) -> str:
    return f"{ns_prefix(lab)}fabric"


def host_netns(lab: str, host: str) -> str:
    return f"{ns_prefix(lab)}h-{host}"


def vm_netns(lab: str, vm: str) -> str:
    return f"{ns_prefix(lab)}vm-{vm}"


def host_dev(port_id: str) -> str:
    """The VM port's device on the host (and its OVS port): Neutron's "tap" + id[:11]."""
    return f"tap{port_id[:11]}"


def uplink_mac(index: int) -> str:
    # Fixed per host, so peers can pre-seed their tunnel ARP cache before the host exists.
    return f"0e:00:00:00:{(index + 1) >> 8:02x}:{(index + 1) & 0xff:02x}"


@dataclasses.dataclass
class PortState:
    name: str
    network: str
    mac: str
    ip: str
    prefixlen: int
    dev: str                       # in the VM: eth0, eth1, ...
    id: str | None = None          # from the registry
    host_dev: str | None = None    # on the host, in br-int
    ofport: int | None = None      # requested on the current host

    @property
    def address(self) -> str:
        return f"{self.ip}/{self.prefixlen}"


@dataclasses.dataclass
class VmState:
    name: str
    host: str
    project_id: str
    monitor: bool
    netns: str
    ports: list[PortState]


@dataclasses.dataclass
class HostState:
    name: str
    index: int
    netns: str
    tunnel_ip: str
    prefixlen: int
    mac: str
    ovs_dir: str
    tunnels: dict[str, int]        # peer host -> ofport_request of vx-<peer>


@dataclasses.dataclass
class NetworkState:
    name: str
    project_id: str
    shared: bool
    cidr: str
    id: str | None = None
    segmentation_id: int | None = None


@dataclasses.dataclass
class LabState:
    name: str
    workdir: str
    phase: str = "building"        # building -> up; removed by down
    api_url: str | None = None
    spec: dict[str, Any] = dataclasses.field(default_factory=dict)
    namespaces: list[str] = dataclasses.field(default_factory=list)
    hosts: dict[str, HostState] = dataclasses.field(default_factory=dict)
    networks: dict[str, NetworkState] = dataclasses.field(default_factory=dict)
    vms: dict[str, VmState] = dataclasses.field(default_factory=dict)

    @property
    def path(self) -> Path:
        return Path(self.workdir) / STATE_FILE

    def save(self) -> None:
        """Atomic replace: a crash mid-write never leaves a state file down cannot read."""
        with _LOCK:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(dataclasses.asdict(self), indent=1, sort_keys=True))
            os.replace(tmp, self.path)

    def add_netns(self, name: str) -> None:
        """Record a namespace BEFORE creating it, so a crash right after still cleans it."""
        with _LOCK:
            if name not in self.namespaces:
                self.namespaces.append(name)
                self.save()

    @classmethod
    def load(cls, workdir: str | Path) -> "LabState":
        data = json.loads((Path(workdir) / STATE_FILE).read_text())
        data["hosts"] = {k: HostState(**v) for k, v in data.get("hosts", {}).items()}
        data["networks"] = {k: NetworkState(**v) for k, v in data.get("networks", {}).items()}
        data["vms"] = {k: VmState(**{**v, "ports": [PortState(**p) for p in v["ports"]]})
                       for k, v in data.get("vms", {}).items()}
        return cls(**data)

    def all_ports(self) -> list[tuple[VmState, PortState]]:
        return [(vm, port) for vm in self.vms.values() for port in vm.ports]

    def next_ofport(self, host: str, first: int) -> int:
        with _LOCK:
            used = {p.ofport for vm, p in self.all_ports() if vm.host == host and p.ofport}
            ofport = first
            while ofport in used:
                ofport += 1
            return ofport
