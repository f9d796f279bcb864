"""The lab spec (YAML): hosts, projects, networks, VMs and monitors, validated and normalized."""
from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import json
import re
import uuid
from pathlib import Path
from typing import Any, Mapping

import yaml

LAB_NAME = re.compile(r"^[a-z0-9]{1,12}$")          # no '-': keeps the netns prefix unambiguous
HOST_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")     # "up-<host>" must fit IFNAMSIZ (15)
VM_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
PROJECT_NAMESPACE = uuid.UUID("6c1e3d1e-5a8b-4e0b-9a38-7a5a0000aaaa")


class SpecError(ValueError):
    """The spec is invalid; `errors` lists every problem found, each naming where it is."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("invalid lab spec:\n  " + "\n  ".join(errors))


@dataclasses.dataclass(frozen=True)
class HostSpec:
    name: str
    ip: str                   # underlay address


@dataclasses.dataclass(frozen=True)
class ProjectSpec:
    name: str
    id: str


@dataclasses.dataclass(frozen=True)
class NetworkSpec:
    name: str
    project: str
    cidr: str
    shared: bool = False


@dataclasses.dataclass(frozen=True)
class PortSpec:
    name: str
    network: str
    mac: str
    ip: str


@dataclasses.dataclass(frozen=True)
class VmSpec:
    name: str
    host: str
    project: str
    ports: tuple[PortSpec, ...]
    monitor: bool = False


@dataclasses.dataclass(frozen=True)
class LabSpec:
    name: str
    underlay: str
    hosts: tuple[HostSpec, ...]
    projects: tuple[ProjectSpec, ...]
    networks: tuple[NetworkSpec, ...]
    vms: tuple[VmSpec, ...]

    def host(self, name: str) -> HostSpec:
        return next(h for h in self.hosts if h.name == name)

    def network(self, name: str) -> NetworkSpec:
        return next(n for n in self.networks if n.name == name)

    def project(self, name: str) -> ProjectSpec:
        return next(p for p in self.projects if p.name == name)

    def vm(self, name: str) -> VmSpec:
        return next(v for v in self.vms if v.name == name)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict that parse() accepts and normalizes to an equal LabSpec."""
        data = dataclasses.asdict(self)
        vms = data.pop("vms")
        data["vms"] = [v for v in vms if not v["monitor"]]
        data["monitors"] = [v for v in vms if v["monitor"]]
        for vm in data["vms"] + data["monitors"]:
            vm.pop("monitor")
        data["projects"] = {p["name"]: {"id": p["id"]} for p in data["projects"]}
        return json.loads(json.dumps(data))     # tuples -> lists: plain YAML/JSON data


def load(path: str | Path) -> LabSpec:
    """Read and validate a YAML spec file."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError([f"{path}: {exc}"]) from exc
    return parse(data)


def _list(data: Mapping, key: str, errors: list[str]) -> list:
    value = data.get(key) or []
    if not isinstance(value, (list, tuple)):
        errors.append(f"{key}: must be a list")
        return []
    return value


def _derived_mac(lab: str, vm: str, index: int, salt: int) -> str:
    digest = hashlib.sha256(f"{lab}/{vm}/{index}/{salt}".encode()).digest()
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in digest[:3])   # Neutron's OUI


def parse(data: Any) -> LabSpec:
    """Validate a spec (a mapping, e.g. from YAML); raise SpecError listing every problem."""
    errors: list[str] = []
    if not isinstance(data, Mapping):
        raise SpecError(["the spec must be a mapping with name, hosts, networks, vms"])
    name = str(data.get("name", ""))
    if not LAB_NAME.match(name):
        errors.append(f"name: {name!r} must be 1-12 of a-z, 0-9 (it prefixes namespaces)")
    underlay = str(data.get("underlay", "192.0.2.0/24"))
    try:
        under_net = ipaddress.IPv4Network(underlay)
    except ValueError as exc:
        errors.append(f"underlay: {exc}")
        under_net = ipaddress.IPv4Network("192.0.2.0/24")

    hosts: list[HostSpec] = []
    for i, raw in enumerate(_list(data, "hosts", errors)):
        raw = {"name": raw} if isinstance(raw, str) else raw
        where = f"hosts[{i}]"
        if not isinstance(raw, Mapping) or not HOST_NAME.match(str(raw.get("name", ""))):
            errors.append(f"{where}: needs a name of 1-12 of a-z, 0-9, starting with a letter")
            continue
        default_ip = under_net.network_address + i + 1
        ip = str(raw.get("ip", default_ip))
        try:
            if ipaddress.IPv4Address(ip) not in under_net:
                errors.append(f"{where} ({raw['name']}): ip {ip} is outside underlay {underlay}")
        except ValueError as exc:
            errors.append(f"{where} ({raw['name']}): {exc}")
        hosts.append(HostSpec(str(raw["name"]), ip))
    if not hosts:
        errors.append("hosts: at least one host is needed")
    _unique([h.name for h in hosts], "hosts", errors)
    _unique([h.ip for h in hosts], "host ips", errors)

    raw_projects = data.get("projects") or {}
    if isinstance(raw_projects, list):
        raw_projects = {str(p): {} for p in raw_projects}
    projects: list[ProjectSpec] = []
    if not isinstance(raw_projects, Mapping):
        errors.append("projects: must be a list of names or a mapping name -> {id}")
        raw_projects = {}
    for pname, raw in raw_projects.items():
        raw = raw or {}
        pid = str(raw.get("id") or uuid.uuid5(PROJECT_NAMESPACE, str(pname)).hex)
        projects.append(ProjectSpec(str(pname), pid))
    project_names = {p.name for p in projects}

    networks: list[NetworkSpec] = []
    cidrs: dict[str, ipaddress.IPv4Network] = {}
    for i, raw in enumerate(_list(data, "networks", errors)):
        where = f"networks[{i}]"
        if not isinstance(raw, Mapping) or not raw.get("name"):
            errors.append(f"{where}: needs a name")
            continue
        where += f" ({raw['name']})"
        project = str(raw.get("project", ""))
        if project not in project_names:
            errors.append(f"{where}: project {project!r} is not in projects")
        try:
            cidrs[str(raw["name"])] = ipaddress.IPv4Network(str(raw.get("cidr")))
        except ValueError:
            errors.append(f"{where}: cidr {raw.get('cidr')!r} is not an IPv4 network")
            continue
        networks.append(NetworkSpec(str(raw["name"]), project, str(raw["cidr"]),
                                    bool(raw.get("shared", False))))
    _unique([n.name for n in networks], "networks", errors)

    vms = _parse_vms(data, name, errors, {h.name for h in hosts}, project_names,
                     {n.name: n for n in networks}, cidrs)
    if errors:
        raise SpecError(errors)
    return LabSpec(name, underlay, tuple(hosts), tuple(projects), tuple(networks), tuple(vms))


def _unique(names: list[str], what: str, errors: list[str]) -> None:
    seen = set()
    for n in names:
        if n in seen:
            errors.append(f"{what}: {n!r} appears twice")
        seen.add(n)


def _parse_vms(data, lab, errors, host_names, project_names, networks, cidrs) -> list[VmSpec]:
    raws = [(f"vms[{i}]", r, False) for i, r in enumerate(_list(data, "vms", errors))]
    raws += [(f"monitors[{i}]", r, True) for i, r in enumerate(_list(data, "monitors", errors))]
    used_ips: dict[str, set] = {n: set() for n in networks}
    used_macs: dict[str, set] = {n: set() for n in networks}
    pending: list[tuple[str, dict, bool, list[dict]]] = []
    # First pass: explicit addresses, so generated ones never take them.
    for where, raw, monitor in raws:
        if not isinstance(raw, Mapping) or not VM_NAME.match(str(raw.get("name", ""))):
            errors.append(f"{where}: needs a name of a-z, 0-9, '-' starting with a letter")
            continue
        where += f" ({raw['name']})"
        if raw.get("host") not in host_names:
            errors.append(f"{where}: host {raw.get('host')!r} is not in hosts")
        ports = raw.get("ports")
        if not isinstance(ports, (list, tuple)) or not ports:
            errors.append(f"{where}: needs ports: [{{network: ...}}, ...]")
            continue
        seen_nets = set()
        clean = []
        for j, port in enumerate(ports):
            pwhere = f"{where} port {j}"
            port = {"network": port} if isinstance(port, str) else dict(port or {})
            net = port.get("network")
            if net not in networks:
                errors.append(f"{pwhere}: network {net!r} is not in networks")
                continue
            if net in seen_nets:
                errors.append(f"{pwhere}: a second port on network {net!r}")
            seen_nets.add(net)
            if port.get("ip") is not None:
                try:
                    ip = ipaddress.IPv4Address(str(port["ip"]))
                except ValueError as exc:
                    errors.append(f"{pwhere}: {exc}")
                    continue
                cidr = cidrs[net]
                if ip not in cidr or ip in (cidr.network_address, cidr.broadcast_address):
                    errors.append(f"{pwhere}: ip {ip} is not a host address of {cidr}")
                elif ip in used_ips[net]:
                    errors.append(f"{pwhere}: ip {ip} is already used on network {net!r}")
                used_ips[net].add(ip)
            if port.get("mac") is not None:
                mac = str(port["mac"]).lower()
                if not MAC.match(mac) or int(mac[:2], 16) & 1:
                    errors.append(f"{pwhere}: mac {port['mac']!r} is not a unicast MAC")
                elif mac in used_macs[net]:
                    # Same MAC on two networks is fine (and tested); on one network it is not.
                    errors.append(f"{pwhere}: mac {mac} is already used on network {net!r}")
                used_macs[net].add(mac)
                port["mac"] = mac
            clean.append(port)
        project = raw.get("project") or (networks[clean[0]["network"]].project if clean else "")
        if project not in project_names:
            errors.append(f"{where}: project {project!r} is not in projects")
        pending.append((str(raw["name"]), dict(raw, project=project), monitor, clean))
    _unique([p[0] for p in pending], "vms and monitors", errors)

    vms = []
    for vm, raw, monitor, ports in pending:
        specs = []
        for j, port in enumerate(ports):
            net = port["network"]
            ip = port.get("ip")
            if ip is None:
                # Skip .1: tenants expect a gateway there, even if the lab has no router.
                free = (a for a in cidrs[net].hosts() if a not in used_ips[net]
                        and int(a) - int(cidrs[net].network_address) > 1)
                ip = next(free, None)
                if ip is None:
                    errors.append(f"{vm} port {j}: network {net!r} has no free address")
                    continue
                used_ips[net].add(ip)
            mac, salt = port.get("mac"), 0
            while mac is None or (port.get("mac") is None and mac in used_macs[net]):
                mac, salt = _derived_mac(lab, vm, j, salt), salt + 1
            used_macs[net].add(mac)
            specs.append(PortSpec(str(port.get("name") or f"{vm}-{net}"), net, mac, str(ip)))
        vms.append(VmSpec(vm, str(raw["host"]), str(raw["project"]), tuple(specs), monitor))
    _unique([p.name for v in vms for p in v.ports], "port names", errors)
    return vms
