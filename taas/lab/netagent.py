"""The lab's network agent: production flows of one host (docs/pipeline.md), no MAC learning."""
from __future__ import annotations

import dataclasses
from typing import Iterable, Mapping

from taas.dataplane import layout as L
from taas.dataplane.flows import Flow
from taas.ovs.flows import ApplyResult, apply_flows
from taas.ovs.host import OvsHost

MULTICAST = "dl_dst=01:00:00:00:00:00/01:00:00:00:00:00"   # broadcast is multicast too
PATCH_TUN = L.INT_PATCH_TUN


@dataclasses.dataclass(frozen=True, order=True)
class NetPort:
    """A registered port as the network agent needs it: where its MAC lives."""
    segmentation_id: int     # also the local VLAN on the br-int <-> br-tun patch
    mac: str
    host: str
    port_id: str


def _vlan_push(seg: int) -> str:
    # OXM vlan_vid carries the "VID present" bit (0x1000) on top of the 12-bit id.
    return f"push_vlan:0x8100,set_field:{0x1000 | seg}->vlan_vid"


def compute_flows(host: str, ports: Iterable[NetPort], local_ofports: Mapping[str, int],
                  tunnel_ofports: Mapping[str, int]) -> list[Flow]:
    """Every production flow (owner COOKIE_NETWORK) of br-int and br-tun on `host`.

    `ports`: every registered port of the cloud; `local_ofports`: port id -> ofport on this
    host's br-int (iface-id); `tunnel_ofports`: peer host -> ofport of vx-<peer> on br-tun.
    A port bound here but not plugged (no ofport) gets no flows; networks without a plugged
    port here get none either. Output is sorted and byte-stable for equal input.
    """
    def f(bridge, table, prio, match, actions):
        return Flow(bridge, table, prio, match, actions, owner=L.COOKIE_NETWORK)

    I, T = L.BR_INT, L.BR_TUN
    flows = [
        f(I, L.T_CLASSIFY, 0, "", "drop"),
        f(I, L.T_CLASSIFY, 1, f"in_port={L.INT_PATCH_TAP}", "drop"),
        f(I, L.T_EGRESS_HOOK, 0, "", f"goto_table:{L.T_L2}"),
        f(I, L.T_L2, 0, "", "drop"),   # unknown unicast: every MAC is known, none is learned
        f(I, L.T_DELIVER_CHECK, 0, "", f"goto_table:{L.T_INGRESS_HOOK}"),
        f(I, L.T_DELIVER_CHECK, 10, f"in_port={PATCH_TUN},reg7={PATCH_TUN}", "drop"),
        f(I, L.T_INGRESS_HOOK, 0, "", f"goto_table:{L.T_OUTPUT}"),
        f(I, L.T_OUTPUT, 0, "", "drop"),
        f(T, 0, 0, "", "drop"),
    ]
    ports = sorted(set(ports))
    local = {p.port_id: local_ofports[p.port_id] for p in ports
             if p.host == host and p.port_id in local_ofports}
    by_net: dict[int, list[NetPort]] = {}
    for p in ports:
        by_net.setdefault(p.segmentation_id, []).append(p)

    for seg, members in sorted(by_net.items()):
        here = sorted(local[p.port_id] for p in members if p.port_id in local)
        if not here:
            continue
        peers = sorted({p.host for p in members if p.host != host and p.host in tunnel_ofports})
        # br-int table 0: classify into the network (reg6).
        for ofport in here:
            flows.append(f(I, L.T_CLASSIFY, 10, f"in_port={ofport}",
                           f"set_field:{seg}->{L.REG_NETWORK},goto_table:{L.T_EGRESS_HOOK}"))
        flows.append(f(I, L.T_CLASSIFY, 10, f"in_port={PATCH_TUN},dl_vlan={seg}",
                       f"pop_vlan,set_field:{seg}->{L.REG_NETWORK},goto_table:{L.T_L2}"))
        # br-int table 10: known unicast -> the output port (local VM or patch-tun).
        for p in members:
            if p.port_id in local:
                out = local[p.port_id]
            elif p.host != host and p.host in tunnel_ofports:
                out = PATCH_TUN
            else:
                continue
            flows.append(f(I, L.T_L2, 10, f"{L.REG_NETWORK}={seg},dl_dst={p.mac}",
                           f"set_field:{out}->{L.REG_OUT_PORT},goto_table:{L.T_DELIVER_CHECK}"))
        # Flood: one clone per member port so table 25 sees each delivery separately.
        clones = [f"clone(set_field:{o}->{L.REG_OUT_PORT},resubmit(,{L.T_DELIVER_CHECK}))"
                  for o in here]
        if peers:
            flows.append(f(I, L.T_L2, 6, f"{L.REG_NETWORK}={seg},in_port={PATCH_TUN},{MULTICAST}",
                           ",".join(clones)))   # from the tunnel: never back into it
            clones.append(f"clone(set_field:{PATCH_TUN}->{L.REG_OUT_PORT},"
                          f"resubmit(,{L.T_DELIVER_CHECK}))")
        flows.append(f(I, L.T_L2, 5, f"{L.REG_NETWORK}={seg},{MULTICAST}", ",".join(clones)))
        # Tables 20 and 30 per local port; patch-tun output pushes the network's VLAN.
        for ofport in here:
            flows.append(f(I, L.T_DELIVER_CHECK, 10, f"in_port={ofport},reg7={ofport}", "drop"))
            flows.append(f(I, L.T_OUTPUT, 10, f"{L.REG_OUT_PORT}={ofport}", f"output:{ofport}"))
        if peers:
            flows.append(f(I, L.T_OUTPUT, 10, f"{L.REG_NETWORK}={seg},{L.REG_OUT_PORT}={PATCH_TUN}",
                           f"{_vlan_push(seg)},output:{PATCH_TUN}"))
        # br-tun: VLAN <-> VNI, unicast to the MAC's host, flood to hosts on the network.
        from_int = f"in_port={L.TUN_PATCH_INT},dl_vlan={seg}"
        for p in members:
            if p.host != host and p.host in tunnel_ofports:
                flows.append(f(T, 0, 10, f"{from_int},dl_dst={p.mac}",
                               f"pop_vlan,set_field:{seg}->tun_id,"
                               f"output:{tunnel_ofports[p.host]}"))
        if peers:
            outs = ",".join(f"output:{tunnel_ofports[h]}" for h in peers)
            flows.append(f(T, 0, 5, f"{from_int},{MULTICAST}",
                           f"pop_vlan,set_field:{seg}->tun_id,{outs}"))
        # Accept the VNI from every peer (not only current members): a VM that just moved
        # must not lose packets to a peer whose flows are not reconciled yet.
        for peer, tun in sorted(tunnel_ofports.items()):
            flows.append(f(T, 0, 10, f"in_port={tun},tun_id={seg}",
                           f"{_vlan_push(seg)},output:{L.TUN_PATCH_INT}"))
    return sorted(set(flows))


def apply(ovs: OvsHost, flows: Iterable[Flow]) -> dict[str, ApplyResult]:
    """Install `flows` on br-tun then br-int (downstream first), one bundle per bridge."""
    flows = list(flows)
    return {bridge: apply_flows(ovs, bridge, [fl for fl in flows if fl.bridge == bridge],
                                L.COOKIE_NETWORK)
            for bridge in (L.BR_TUN, L.BR_INT)}
