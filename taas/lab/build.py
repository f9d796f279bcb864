"""Building blocks of the lab: the fabric, a hypervisor, a VM's veths; each safe to repeat."""
from __future__ import annotations

import time
from pathlib import Path

from taas.dataplane import layout as L
from taas.lab import system
from taas.lab.state import HostState, LabState, VmState, fabric_netns, host_dev
from taas.ovs.host import OvsHost
from taas.ovs.ovsdb import Ovsdb

FABRIC_BRIDGE = "fab0"
UPLINK = "uplink"          # the host's underlay NIC (a veth into the fabric's bridge)
PHYS_BRIDGE = "br-phy"     # netdev bridge holding the underlay IP (userspace tunnelling)
VXLAN_PORT = 4789
VM_MTU = 1400              # VXLAN adds 50 bytes; the underlay is 1500
NO_IPV6 = ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]
PATCHES = [  # (bridge, port, ofport) pairs, numbers from the layout contract
    ((L.BR_INT, L.INT_PATCH_TUN), (L.BR_TUN, L.TUN_PATCH_INT)),
    ((L.BR_INT, L.INT_PATCH_TAP), (L.BR_TAP, L.TAP_PATCH_INT)),
    ((L.BR_TUN, L.TUN_PATCH_TAP), (L.BR_TAP, L.TAP_PATCH_TUN)),
]


def make_fabric(state: LabState) -> None:
    """The underlay: one Linux bridge in its own namespace, a veth per host plugs into it."""
    ns = fabric_netns(state.name)
    state.add_netns(ns)
    system.netns_add(ns)
    system.run(["ip", "netns", "exec", ns, "sysctl", "-qw", *NO_IPV6])
    system.ip_batch(ns, [f"link add {FABRIC_BRIDGE} type bridge",
                         f"link set {FABRIC_BRIDGE} up"])


def host_ovs(host: HostState, dummy: bool = False) -> OvsHost:
    return OvsHost(host.name, host.ovs_dir, host.netns, dummy=dummy)


def make_host(state: LabState, host: HostState) -> OvsHost:
    """Namespace, uplink into the fabric, private OVS, bridges, patches, VXLAN mesh."""
    state.add_netns(host.netns)
    system.netns_add(host.netns)
    fab = fabric_netns(state.name)
    system.run(["ip", "-n", host.netns, "link", "add", UPLINK, "address", host.mac,
                "type", "veth", "peer", "name", f"up-{host.name}", "netns", fab])
    system.ip_batch(fab, [f"link set up-{host.name} master {FABRIC_BRIDGE} up"])
    # The host kernel also sees what arrives on the uplink (AF_PACKET does not steal frames):
    # keep it from answering ARP there, or every peer gets duplicate replies.
    system.run(["ip", "netns", "exec", host.netns, "sysctl", "-qw", *NO_IPV6,
                f"net.ipv4.conf.{UPLINK}.rp_filter=1", f"net.ipv4.conf.{UPLINK}.arp_ignore=8"])
    ovs = host_ovs(host)
    ovs.start(fresh=True)
    ensure_plumbing(state, host, ovs)
    ensure_underlay(state, host, ovs)
    return ovs


def ensure_plumbing(state: LabState, host: HostState, ovs: OvsHost) -> None:
    """One ovs-vsctl transaction (the recipe's), idempotent thanks to --may-exist + set."""
    args = ["--may-exist", "add-br", PHYS_BRIDGE, "--", "set", "Bridge", PHYS_BRIDGE,
            "datapath_type=netdev", "fail_mode=standalone", f"other_config:hwaddr={host.mac}",
            "--", "--may-exist", "add-port", PHYS_BRIDGE, UPLINK]
    for bridge in (L.BR_INT, L.BR_TUN, L.BR_TAP):
        args += ["--", "--may-exist", "add-br", bridge, "--", "set", "Bridge", bridge,
                 "datapath_type=netdev", "fail_mode=secure", "protocols=OpenFlow13"]
    for (ba, oa), (bb, ob) in PATCHES:
        na, nb = L.PORT_NAMES[(ba, oa)], L.PORT_NAMES[(bb, ob)]
        for bridge, name, ofport, peer in ((ba, na, oa, nb), (bb, nb, ob, na)):
            args += ["--", "--may-exist", "add-port", bridge, name, "--", "set", "Interface",
                     name, "type=patch", f"options:peer={peer}", f"ofport_request={ofport}"]
    for peer, ofport in sorted(host.tunnels.items()):
        name = f"vx-{peer}"
        args += ["--", "--may-exist", "add-port", L.BR_TUN, name, "--", "set", "Interface",
                 name, "type=vxlan", f"options:remote_ip={state.hosts[peer].tunnel_ip}",
                 "options:key=flow", f"options:dst_port={VXLAN_PORT}",
                 f"ofport_request={ofport}"]
    ovs.vsctl(*args)


def ensure_underlay(state: LabState, host: HostState, ovs: OvsHost) -> None:
    """Underlay IP on br-phy and pre-seeded tunnel ARP; both vanish with vswitchd."""
    # br-phy is a tap that vswitchd re-creates (bare) when it restarts.
    deadline = time.monotonic() + 5
    while not system.link_exists(host.netns, PHYS_BRIDGE) and time.monotonic() < deadline:
        time.sleep(0.05)
    system.ip_batch(host.netns, [
        f"addr replace {host.tunnel_ip}/{host.prefixlen} dev {PHYS_BRIDGE}",
        f"link set {PHYS_BRIDGE} up", f"link set {UPLINK} up"])
    # Without this the first packets to a peer die while vswitchd resolves its MAC (~1 s).
    for peer in sorted(host.tunnels):
        other = state.hosts.get(peer)
        if other:
            ovs.appctl("tnl/arp/set", PHYS_BRIDGE, other.tunnel_ip, other.mac)


def make_vm_netns(state: LabState, vm: VmState) -> None:
    state.add_netns(vm.netns)
    system.netns_add(vm.netns)
    # arp_ignore/announce: a VM on several networks answers ARP only on the right port.
    system.run(["ip", "netns", "exec", vm.netns, "sysctl", "-qw", *NO_IPV6,
                "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"])


def plug_ports(state: LabState, vm: VmState, ovs: OvsHost, ovsdb: Ovsdb) -> None:
    """A veth per port: VM side ethN (MAC, IP, MTU, no tx offload), host side in br-int."""
    host = state.hosts[vm.host]
    for port in vm.ports:
        port.host_dev = host_dev(port.id)
        if port.ofport is None:
            port.ofport = state.next_ofport(vm.host, L.FIRST_VM_OFPORT)
    state.save()
    lines, script = [], []
    for port in vm.ports:
        if system.link_exists(host.netns, port.host_dev):
            continue
        lines += [f"link add {port.host_dev} type veth peer name {port.dev} netns {vm.netns}",
                  f"link set {port.host_dev} up"]
        # tx off: the userspace datapath does not fill in offloaded checksums, TCP would die.
        script += [f"ip link set {port.dev} address {port.mac} mtu {VM_MTU}",
                   f"ip addr replace {port.address} dev {port.dev}",
                   f"ethtool -K {port.dev} tx off >/dev/null",
                   f"ip link set {port.dev} up"]
    system.ip_batch(host.netns, lines)
    if script:
        system.ns_exec(vm.netns, " && ".join(script), check=True)
    for port in vm.ports:
        ovsdb.ensure_port(L.BR_INT, port.host_dev, ofport_request=port.ofport, external_ids={
            "iface-id": port.id, "attached-mac": port.mac, "iface-status": "active",
            "vm-id": vm.name})


def unplug_ports(state: LabState, vm: VmState, ovsdb: Ovsdb | None) -> None:
    """Remove the VM's ports from its host; deleting the host veth removes the VM side too."""
    host = state.hosts[vm.host]
    for port in vm.ports:
        if not port.host_dev:
            continue
        if ovsdb is not None:
            ovsdb.remove_port(port.host_dev, bridge=L.BR_INT, if_exists=True)
        system.run(["ip", "-n", host.netns, "link", "del", port.host_dev], check=False)
        port.ofport = None


def daemon_pidfiles(workdir: str | Path) -> list[Path]:
    """Every OVS pidfile the lab's hosts may have left under the workdir."""
    return sorted(Path(workdir).glob("hosts/*/run/*.pid"))
