"""A minimal production pipeline per docs/pipeline.md, written by the tests (not the lab agent)."""
from __future__ import annotations

import dataclasses
from typing import Mapping

from taas.dataplane import layout as L

BROADCAST = "01:00:00:00:00:00/01:00:00:00:00:00"   # any multicast or broadcast dl_dst


@dataclasses.dataclass(frozen=True)
class VmPort:
    name: str
    ofport: int
    mac: str
    seg: int          # segmentation id of its network (= local VLAN in the lab)


@dataclasses.dataclass(frozen=True)
class RemoteMac:
    mac: str
    seg: int
    tunnel_ofport: int   # br-tun vx-<peer> port of the host that has the MAC


def br_int_flows(vms: list[VmPort], remote: list[RemoteMac]) -> list[str]:
    """Table 0 classify -> 5 -> 10 L2 -> 20 no-hairpin -> 25 -> 30 output."""
    c = f"cookie={L.COOKIE_NETWORK:#x},"
    segs = sorted({v.seg for v in vms} | {r.seg for r in remote})
    flows = [f"{c}table={L.T_CLASSIFY},priority=0,actions=drop",
             f"{c}table={L.T_CLASSIFY},priority=10,in_port={L.INT_PATCH_TAP},actions=drop",
             f"{c}table={L.T_EGRESS_HOOK},priority=0,actions=goto_table:{L.T_L2}",
             f"{c}table={L.T_L2},priority=0,actions=drop",
             f"{c}table={L.T_DELIVER_CHECK},priority=0,actions=goto_table:{L.T_INGRESS_HOOK}",
             f"{c}table={L.T_INGRESS_HOOK},priority=0,actions=goto_table:{L.T_OUTPUT}",
             f"{c}table={L.T_OUTPUT},priority=0,actions=drop"]
    for v in vms:
        flows += [
            f"{c}table={L.T_CLASSIFY},priority=10,in_port={v.ofport},"
            f"actions=set_field:{v.seg}->{L.REG_NETWORK},goto_table:{L.T_EGRESS_HOOK}",
            f"{c}table={L.T_L2},priority=10,{L.REG_NETWORK}={v.seg},dl_dst={v.mac},"
            f"actions=set_field:{v.ofport}->{L.REG_OUT_PORT},goto_table:{L.T_DELIVER_CHECK}",
            f"{c}table={L.T_DELIVER_CHECK},priority=10,in_port={v.ofport},"
            f"{L.REG_OUT_PORT}={v.ofport},actions=drop",
            f"{c}table={L.T_OUTPUT},priority=10,{L.REG_OUT_PORT}={v.ofport},"
            f"actions=output:{v.ofport}"]
    for r in remote:
        flows.append(f"{c}table={L.T_L2},priority=10,{L.REG_NETWORK}={r.seg},dl_dst={r.mac},"
                     f"actions=set_field:{L.INT_PATCH_TUN}->{L.REG_OUT_PORT},"
                     f"goto_table:{L.T_DELIVER_CHECK}")
    for seg in segs:
        members = sorted(v.ofport for v in vms if v.seg == seg)
        clones = [f"clone(set_field:{p}->{L.REG_OUT_PORT},resubmit(,{L.T_DELIVER_CHECK}))"
                  for p in members]
        tun = f"clone(set_field:{L.INT_PATCH_TUN}->{L.REG_OUT_PORT},resubmit(,{L.T_DELIVER_CHECK}))"
        flows += [
            f"{c}table={L.T_CLASSIFY},priority=10,in_port={L.INT_PATCH_TUN},dl_vlan={seg},"
            f"actions=pop_vlan,set_field:{seg}->{L.REG_NETWORK},goto_table:{L.T_L2}",
            # Flood: to every member, and to patch-tun unless the packet came from there.
            f"{c}table={L.T_L2},priority=5,{L.REG_NETWORK}={seg},dl_dst={BROADCAST},"
            f"actions={','.join(clones + [tun])}",
            f"{c}table={L.T_L2},priority=6,in_port={L.INT_PATCH_TUN},{L.REG_NETWORK}={seg},"
            f"dl_dst={BROADCAST},actions={','.join(clones) or 'drop'}",
            f"{c}table={L.T_OUTPUT},priority=10,{L.REG_OUT_PORT}={L.INT_PATCH_TUN},"
            f"{L.REG_NETWORK}={seg},actions=push_vlan:0x8100,"
            f"set_field:{seg | 0x1000}->vlan_vid,output:{L.INT_PATCH_TUN}"]
    flows.append(f"{c}table={L.T_DELIVER_CHECK},priority=10,in_port={L.INT_PATCH_TUN},"
                 f"{L.REG_OUT_PORT}={L.INT_PATCH_TUN},actions=drop")
    return flows


def br_tun_flows(remote: list[RemoteMac], peers_by_seg: Mapping[int, list[int]]) -> list[str]:
    """Table 0: local VLAN <-> VNI over the production tunnels (never taas-tun)."""
    c = f"cookie={L.COOKIE_NETWORK:#x},"
    flows = [f"{c}table=0,priority=0,actions=drop"]
    for r in remote:
        flows.append(f"{c}table=0,priority=20,in_port={L.TUN_PATCH_INT},dl_vlan={r.seg},"
                     f"dl_dst={r.mac},actions=pop_vlan,set_field:{r.seg}->tun_id,"
                     f"output:{r.tunnel_ofport}")
    for seg, tunnels in sorted(peers_by_seg.items()):
        outs = ",".join(f"output:{t}" for t in sorted(tunnels))
        flows.append(f"{c}table=0,priority=10,in_port={L.TUN_PATCH_INT},dl_vlan={seg},"
                     f"dl_dst={BROADCAST},actions=pop_vlan,set_field:{seg}->tun_id,{outs}")
        for t in sorted(tunnels):
            flows.append(f"{c}table=0,priority=10,in_port={t},tun_id={seg},actions="
                         f"push_vlan:0x8100,set_field:{seg | 0x1000}->vlan_vid,"
                         f"output:{L.TUN_PATCH_INT}")
    return flows
