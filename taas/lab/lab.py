"""The Lab: bring an emulated cloud up from a spec, inspect it, move VMs, tear it all down."""
from __future__ import annotations

import concurrent.futures
import dataclasses
import ipaddress
import logging
import shutil
import subprocess
import time
from pathlib import Path
from typing import Sequence

from taas.dataplane import layout as L
from taas.lab import build, netagent, probe, system
from taas.lab import spec as specmod
from taas.lab.probe import PingResult
from taas.lab.registry import HttpRegistry, Registry, RegistryError
from taas.lab.state import (STATE_FILE, HostState, LabState, NetworkState, PortState, VmState,
                            host_netns, ns_prefix, uplink_mac, vm_netns)
from taas.ovs.flows import ApplyResult
from taas.ovs.host import OvsHost, kill_pids, pid_alive, pid_cmdline
from taas.ovs.ovsdb import Ovsdb

LOG = logging.getLogger(__name__)
MAX_LOCAL_VLAN = 4094


class LabError(RuntimeError):
    """The lab cannot do what was asked (bad state, missing VM, server refused...)."""


class Lab:
    """One emulated cloud, described by its state file in `workdir`.

    Create with Lab.up(...) or attach to a running one with Lab.open(workdir). Namespaces
    are taas-<lab>-fabric, taas-<lab>-h-<host>, taas-<lab>-vm-<vm>.
    """

    def __init__(self, state: LabState, registry: Registry | None = None):
        self.state = state
        self.registry = registry
        self._ovs: dict[str, OvsHost] = {}
        self._ovsdb: dict[str, Ovsdb] = {}

    # -- life cycle ------------------------------------------------------------------------

    @classmethod
    def up(cls, spec: specmod.LabSpec | dict | str | Path, workdir: str | Path,
           api_url: str | None = None, admin_token: str | None = None, *,
           registry: Registry | None = None, keep_on_error: bool = False) -> "Lab":
        """Register networks/ports, build fabric, hosts and VMs, install network flows.

        `registry` overrides api_url/admin_token (tests pass an InMemoryRegistry). On a
        failure everything made so far is torn down, unless keep_on_error.
        """
        if not isinstance(spec, specmod.LabSpec):
            spec = specmod.load(spec) if isinstance(spec, (str, Path)) else specmod.parse(spec)
        if registry is None:
            if not api_url:
                raise LabError("the lab registers its networks and ports with the TaaS API: "
                               "give api_url and admin_token (or a registry)")
            registry = HttpRegistry(api_url, admin_token or "")
        workdir = Path(workdir).absolute()
        workdir.mkdir(parents=True, exist_ok=True)
        if (workdir / STATE_FILE).exists():
            raise LabError(f"a lab already lives in {workdir}: run down first")
        stale = [ns for ns in system.netns_list() if ns.startswith(ns_prefix(spec.name))]
        if stale:
            raise LabError(f"namespaces of a lab named {spec.name!r} exist already: {stale}")
        shutil.rmtree(workdir / "hosts", ignore_errors=True)
        state = LabState(spec.name, str(workdir), api_url=api_url, spec=spec.to_dict())
        state.save()    # first of all: down needs it to find whatever comes next
        lab = cls(state, registry)
        try:
            lab._build(spec)
        except BaseException:
            if not keep_on_error:
                lab.down()
            raise
        return lab

    @classmethod
    def open(cls, workdir: str | Path, registry: Registry | None = None) -> "Lab":
        """Attach to the lab whose state file is in `workdir`."""
        try:
            return cls(LabState.load(Path(workdir).absolute()), registry)
        except FileNotFoundError:
            raise LabError(f"no lab in {workdir} ({STATE_FILE} not found)") from None

    def _build(self, spec: specmod.LabSpec) -> None:
        st = self.state
        under = ipaddress.IPv4Network(spec.underlay)
        names = [h.name for h in spec.hosts]
        for i, h in enumerate(spec.hosts):
            peers = [p for p in names if p != h.name]
            st.hosts[h.name] = HostState(
                h.name, i, host_netns(st.name, h.name), h.ip, under.prefixlen, uplink_mac(i),
                str(Path(st.workdir) / "hosts" / h.name),
                {p: L.FIRST_TUNNEL_OFPORT + k for k, p in enumerate(peers)})
        for vm in spec.vms:
            st.vms[vm.name] = VmState(vm.name, vm.host, spec.project(vm.project).id, vm.monitor,
                                      vm_netns(st.name, vm.name), [
                PortState(p.name, p.network, p.mac, p.ip,
                          ipaddress.IPv4Network(spec.network(p.network).cidr).prefixlen,
                          f"eth{i}") for i, p in enumerate(vm.ports)])
        st.save()
        self._register(spec)
        build.make_fabric(st)
        # One thread per host: most of the time goes to waiting for each host's vswitchd.
        with concurrent.futures.ThreadPoolExecutor(len(st.hosts)) as pool:
            list(pool.map(self._build_host, list(st.hosts.values())))
        self.reconcile()
        st.phase = "up"
        st.save()

    def _build_host(self, host: HostState) -> None:
        self._ovs[host.name] = build.make_host(self.state, host)
        for vm in self.state.vms.values():
            if vm.host == host.name:
                build.make_vm_netns(self.state, vm)
                build.plug_ports(self.state, vm, self.ovs(vm.host), self.ovsdb(vm.host))

    def _register(self, spec: specmod.LabSpec) -> None:
        st = self.state
        for net in spec.networks:
            ns = st.networks[net.name] = NetworkState(
                net.name, spec.project(net.project).id, net.shared, net.cidr)
            record = self.registry.create_network(name=net.name,
                                                  project_id=ns.project_id, shared=net.shared)
            ns.id, ns.segmentation_id = record.id, record.segmentation_id
            st.save()
            if not 1 <= record.segmentation_id <= MAX_LOCAL_VLAN:
                raise LabError(f"network {net.name}: segmentation id {record.segmentation_id} "
                               f"cannot be a local VLAN (1-{MAX_LOCAL_VLAN})")
        for vm in st.vms.values():
            for port in vm.ports:
                port.id = self.registry.create_port(
                    name=port.name, network_id=st.networks[port.network].id,
                    project_id=vm.project_id, mac=port.mac, ip=port.ip, device_id=vm.name,
                    host=vm.host)
                st.save()

    def down(self, deregister: bool = True) -> None:
        """Remove every process, namespace and device of this lab (and only those).

        Works from the state file, the lab's namespace prefix and the pidfiles under the
        workdir, so it also cleans a half-built or crashed lab. Then, best effort, deletes
        the registered ports and networks when a registry is attached.
        """
        st = self.state
        self._close_ovsdb()
        # OVS daemons by pidfile (verified against their command line), wherever they run.
        pids = []
        for pidfile in build.daemon_pidfiles(st.workdir):
            try:
                pid = int(pidfile.read_text().strip())
            except (OSError, ValueError):
                continue
            if pid_alive(pid) and f"--pidfile={pidfile}" in pid_cmdline(pid):
                pids.append(pid)
        kill_pids(pids)
        prefix = ns_prefix(st.name)
        namespaces = set(st.namespaces) | {
            ns for ns in system.netns_list() if ns.startswith(prefix)}
        for ns in sorted(namespaces):     # processes first: a namespace outlives its name
            system.kill_netns_processes(ns)
        for ns in sorted(namespaces):
            system.netns_del(ns)           # its veths (and their peers) go with it
        if deregister and self.registry is not None:
            self._deregister()
        for pidfile in build.daemon_pidfiles(st.workdir):
            pidfile.unlink(missing_ok=True)
        st.path.unlink(missing_ok=True)
        self.close()

    def _deregister(self) -> None:
        st = self.state
        try:
            for _, port in st.all_ports():
                if port.id:
                    self.registry.delete_port(port.id)
            for net in st.networks.values():
                if net.id:
                    self.registry.delete_network(net.id)
        except RegistryError as exc:
            LOG.warning("lab %s: could not deregister everything: %s", st.name, exc)

    def close(self) -> None:
        """Drop OVSDB connections and the registry client; the lab keeps running."""
        self._close_ovsdb()
        if self.registry is not None and hasattr(self.registry, "close"):
            self.registry.close()

    def _close_ovsdb(self) -> None:
        for db in self._ovsdb.values():
            db.close()
        self._ovsdb.clear()

    # -- access ----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.state.name

    @property
    def spec(self) -> specmod.LabSpec:
        """The validated spec the lab was built from (as recorded in its state file)."""
        return specmod.parse(self.state.spec)

    @property
    def workdir(self) -> Path:
        return Path(self.state.workdir)

    @property
    def hosts(self) -> dict[str, HostState]:
        return self.state.hosts

    @property
    def vms(self) -> dict[str, VmState]:
        return self.state.vms

    @property
    def networks(self) -> dict[str, NetworkState]:
        return self.state.networks

    def vm(self, name: str) -> VmState:
        try:
            return self.state.vms[name]
        except KeyError:
            raise LabError(f"no VM or monitor {name!r} in lab {self.name}") from None

    def port(self, vm: str, network: str | None = None) -> PortState:
        """The VM's port on `network` (its first port if None)."""
        ports = [p for p in self.vm(vm).ports if network in (None, p.network)]
        if not ports:
            raise LabError(f"{vm} has no port on network {network!r}")
        return ports[0]

    def host(self, name: str) -> HostState:
        try:
            return self.state.hosts[name]
        except KeyError:
            raise LabError(f"no host {name!r} in lab {self.name}") from None

    def ovs(self, host: str) -> OvsHost:
        if host not in self._ovs:
            self._ovs[host] = build.host_ovs(self.host(host))
        return self._ovs[host]

    def ovsdb(self, host: str) -> Ovsdb:
        """A cached OVSDB connection to the host (closed by close() and down())."""
        if host not in self._ovsdb:
            self._ovsdb[host] = Ovsdb(self.ovs(host))
        return self._ovsdb[host]

    def netns(self, name: str) -> str:
        """The namespace of a VM, monitor or host."""
        if name in self.state.vms:
            return self.state.vms[name].netns
        return self.host(name).netns

    # -- operations ------------------------------------------------------------------------

    def exec(self, vm: str, cmd: Sequence[str] | str, *, timeout: float = 60,
             check: bool = False, input: str | None = None) -> subprocess.CompletedProcess:
        """Run a command in a VM (argv, or a string for sh -c); output is captured."""
        return system.ns_exec(self.netns(vm), cmd, timeout=timeout, check=check, input=input)

    def popen(self, vm: str, cmd: Sequence[str] | str, **kwargs) -> subprocess.Popen:
        """Start a background command in a VM (a server, a capture); down() kills it."""
        return subprocess.Popen(system.ns_argv(self.netns(vm), cmd), **kwargs)

    def ping(self, vm: str, dst_ip: str, count: int = 3, timeout: float = 1.0) -> PingResult:
        """ICMP echo from a VM (in-process: no ping binary needed)."""
        return probe.ping(self.netns(vm), dst_ip, count=count, timeout=timeout)

    def tcp(self, src_vm: str, dst_vm: str, dst_ip: str | None = None, port: int = 5201,
            size: int = 256 * 1024, timeout: float = 3.0) -> bool:
        """Move `size` bytes over TCP from src_vm to a listener on dst_vm (its first IP)."""
        dst_ip = dst_ip or self.port(dst_vm).ip
        return probe.tcp_transfer(self.netns(src_vm), self.netns(dst_vm), dst_ip, port=port,
                                  size=size, timeout=timeout)

    def reconcile(self, host: str | None = None) -> dict[str, dict[str, ApplyResult]]:
        """Make the host(s) hold the underlay state and exactly the production flows."""
        results = {}
        for name in [host] if host else sorted(self.state.hosts):
            h = self.host(name)
            build.ensure_underlay(self.state, h, self.ovs(name))
            db = self.ovsdb(name)
            expected = {p.id for vm, p in self.state.all_ports() if vm.host == name}
            deadline = time.monotonic() + 3
            ofports = db.ofports_by_iface_id(L.BR_INT)
            while not expected <= ofports.keys() and time.monotonic() < deadline:
                time.sleep(0.05)       # the IDL may lag vswitchd by a few milliseconds
                ofports = db.ofports_by_iface_id(L.BR_INT)
            tunnels = {n[3:]: o for n, o in db.ofports_by_name(L.BR_TUN).items()
                       if n.startswith("vx-")}
            flows = netagent.compute_flows(name, self._netports(), ofports, tunnels)
            results[name] = netagent.apply(self.ovs(name), flows)
        return results

    def _netports(self) -> list[netagent.NetPort]:
        return [netagent.NetPort(self.state.networks[p.network].segmentation_id, p.mac,
                                 vm.host, p.id) for vm, p in self.state.all_ports() if p.id]

    def restart_vswitchd(self, host: str) -> None:
        """Restart one host's ovs-vswitchd (flows and underlay address are lost until
        reconcile(host))."""
        self.ovs(host).restart_vswitchd()

    def move(self, vm: str, host: str) -> None:
        """Re-plug the VM's ports on `host` (its namespace, MACs and IPs stay), update
        binding:host_id through the registry, reconcile network flows everywhere."""
        v, target = self.vm(vm), self.host(host).name
        if v.host == target:
            return
        build.unplug_ports(self.state, v, self.ovsdb(v.host))
        v.host = target
        self.state.save()
        build.plug_ports(self.state, v, self.ovs(target), self.ovsdb(target))
        if self.registry is not None:
            for port in v.ports:
                self.registry.bind_port(port.id, target)
        self.reconcile()

    def status(self) -> dict:
        """What is up: hosts with daemon pids, networks, VMs with their ports."""
        st = self.state
        return {
            "name": st.name, "phase": st.phase, "workdir": st.workdir, "api_url": st.api_url,
            "hosts": {h.name: {"netns": h.netns, "tunnel_ip": h.tunnel_ip,
                               "ovs_rundir": str(self.ovs(h.name).rundir),
                               "ovsdb-server": self.ovs(h.name).pid("ovsdb-server"),
                               "ovs-vswitchd": self.ovs(h.name).pid("ovs-vswitchd")}
                      for h in st.hosts.values()},
            "networks": {n.name: dataclasses.asdict(n) for n in st.networks.values()},
            "vms": {v.name: {"host": v.host, "netns": v.netns, "monitor": v.monitor,
                             "ports": [dataclasses.asdict(p) for p in v.ports]}
                    for v in st.vms.values()},
        }
