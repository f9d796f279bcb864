"""A tiny interpreter of compiled TaaS flows, so tests assert where copies go, not strings."""
from __future__ import annotations

import dataclasses
import re
from typing import Iterable

from taas.dataplane import layout as L
from taas.dataplane.flows import Flow

PATCHES = {(L.BR_INT, L.INT_PATCH_TAP): (L.BR_TAP, L.TAP_PATCH_INT),
           (L.BR_TUN, L.TUN_PATCH_TAP): (L.BR_TAP, L.TAP_PATCH_TUN)}
PATCHES.update({v: k for k, v in list(PATCHES.items())})


@dataclasses.dataclass(frozen=True, order=True)
class Out:
    """An outcome: a packet output on (bridge, port), or `goto` (continues in production
    table `port` of `bridge`), or `miss` (no TaaS flow: the network agent's default)."""
    kind: str                # "output" | "goto" | "miss"
    bridge: str
    port: int                # output port, goto table, or the table that missed
    vlans: tuple = ()        # ((vid, pcp), ...) outermost first
    tun_id: int | None = None
    tun_dst: str | None = None


def split_actions(actions: str) -> list[str]:
    """Top-level actions of an action list (clone(...) stays one item)."""
    parts, depth, cur = [], 0, ""
    for ch in actions:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    return [p for p in parts + [cur] if p]


def parse_match(match: str) -> dict[str, str]:
    return dict(kv.split("=", 1) for kv in match.split(",") if kv)


class Sim:
    """Runs packets through a set of flows (only the fields TaaS flows use)."""

    def __init__(self, flows: Iterable[Flow]):
        self.flows = list(flows)

    def lookup(self, bridge: str, table: int, pkt: dict) -> Flow | None:
        hits = [f for f in self.flows if f.bridge == bridge and f.table == table
                and all(self._matches(pkt, k, v) for k, v in parse_match(f.match).items())]
        if not hits:
            return None
        best = max(f.priority for f in hits)
        top = [f for f in hits if f.priority == best]
        # OVS's choice between equal-priority overlapping flows is undefined: never compile one.
        assert len(top) == 1, f"ambiguous flows: {top}"
        return top[0]

    @classmethod
    def _matches(cls, pkt: dict, key: str, want: str) -> bool:
        if key == "vlan_vid":   # OpenFlow 1.3: the present bit 0x1000 + VID, maybe masked
            value, _, mask = want.partition("/")
            mask_bits = int(mask, 0) if mask else 0x1FFF
            vlans = pkt["vlans"]
            have = 0x1000 | vlans[0][0] if vlans else 0
            return have & mask_bits == int(value, 0) & mask_bits
        return cls._field(pkt, key) == want

    @staticmethod
    def _field(pkt: dict, key: str) -> str | None:
        vlans = pkt["vlans"]
        value = {"in_port": pkt["in_port"], "reg5": pkt.get("reg5"), "reg7": pkt.get("reg7"),
                 "tun_id": pkt.get("tun_id"),
                 "dl_vlan": vlans[0][0] if vlans else None,
                 "dl_vlan_pcp": vlans[0][1] if vlans else None}.get(key, "unsupported")
        assert value != "unsupported", f"the simulator does not know the field {key}"
        return None if value is None else str(value)

    def run(self, bridge: str, table: int, pkt: dict, depth: int = 0) -> list[Out]:
        assert depth < 20, "loop between bridges"
        flow = self.lookup(bridge, table, pkt)
        if flow is None:
            return [Out("miss", bridge, table, tuple(pkt["vlans"]))]
        return self.execute(bridge, split_actions(flow.actions), dict(pkt), depth)

    def execute(self, bridge: str, actions: list[str], pkt: dict, depth: int) -> list[Out]:
        outs: list[Out] = []
        pkt["vlans"] = list(pkt["vlans"])
        for i, act in enumerate(actions):
            if act.startswith("clone("):
                outs += self.execute(bridge, split_actions(act[6:-1]), dict(pkt), depth)
            elif act == "push_vlan:0x8100":
                pkt["vlans"].insert(0, (0, 0))
            elif act == "pop_vlan":
                pkt["vlans"].pop(0)
            elif m := re.fullmatch(r"set_field:(.+)->(\w+)", act):
                self._set(pkt, m.group(2), m.group(1))
            elif m := re.fullmatch(r"output:(\d+)|(IN_PORT)", act):
                port = pkt["in_port"] if m.group(2) else int(m.group(1))
                outs += self._output(bridge, port, pkt, depth)
            elif m := re.fullmatch(r"resubmit\(,(\d+)\)", act):
                # What the resubmitted table does to the packet is not carried back here,
                # so only a last action (as in TaaS's clones) is modelled faithfully.
                assert i == len(actions) - 1, f"resubmit before other actions: {actions}"
                outs += self.run(bridge, int(m.group(1)), dict(pkt), depth + 1)
            elif m := re.fullmatch(r"goto_table:(\d+)", act):
                outs.append(Out("goto", bridge, int(m.group(1)), tuple(pkt["vlans"])))
                break
            elif act == "drop":
                break
            else:
                raise AssertionError(f"action not understood: {act}")
        return outs

    @staticmethod
    def _set(pkt: dict, field: str, value: str) -> None:
        if field == "vlan_vid":
            vid = int(value, 0)
            assert vid & 0x1000, "OpenFlow 1.3 vlan_vid needs the present bit"
            pkt["vlans"][0] = (vid & 0xFFF, pkt["vlans"][0][1])
        elif field == "vlan_pcp":
            pkt["vlans"][0] = (pkt["vlans"][0][0], int(value))
        elif field == "tun_id":
            pkt["tun_id"] = int(value, 0)
        elif field in ("tun_dst", "tun_ipv6_dst"):
            pkt["tun_dst"] = value
        elif field in ("reg5", "reg7"):
            pkt[field] = int(value, 0)
        else:
            raise AssertionError(f"set_field of {field} not understood")

    def _output(self, bridge: str, port: int, pkt: dict, depth: int) -> list[Out]:
        peer = PATCHES.get((bridge, port))
        if peer is None:
            return [Out("output", bridge, port, tuple(pkt["vlans"]), pkt.get("tun_id"),
                        pkt.get("tun_dst"))]
        # A patch port clears registers and tunnel metadata: only the packet crosses.
        return self.run(peer[0], 0, {"in_port": peer[1], "vlans": pkt["vlans"]}, depth + 1)

    # ---- entry points ---------------------------------------------------------------------
    def egress(self, ofport: int, vlans=()) -> list[Out]:
        """A packet a VM port sends, from br-int's OUT hook table."""
        return self.run(L.BR_INT, L.T_EGRESS_HOOK, {"in_port": ofport, "vlans": list(vlans)})

    def ingress(self, ofport: int, in_port: int = 999, vlans=()) -> list[Out]:
        """A packet being delivered to a VM port, from br-int's IN hook table."""
        return self.run(L.BR_INT, L.T_INGRESS_HOOK,
                        {"in_port": in_port, "reg7": ofport, "vlans": list(vlans)})

    def from_tunnel(self, tun_id: int) -> list[Out]:
        """A copy arriving on taas-tun with VXLAN key tun_id."""
        return self.run(L.BR_TUN, 0, {"in_port": L.TUN_MIRROR_PORT, "tun_id": tun_id,
                                      "vlans": []})

    def copies(self, outs: list[Out]) -> list[Out]:
        """The outcomes that are copies (everything but the production continuation)."""
        return sorted(o for o in outs if o.kind == "output")
