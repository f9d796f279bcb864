"""The network agent's flows: pure and stable, then traced through real OVS bridges."""
from __future__ import annotations

import re

import pytest

from taas.dataplane import layout as L
from taas.lab.netagent import NetPort, apply, compute_flows
from taas.ovs.host import OvsHost
from taas.ovs.ovsdb import Ovsdb

from ..ovs.conftest import NEEDS_OVS

A, B, C, D = (f"fa:16:3e:00:00:0{i}" for i in range(1, 5))
PORTS = [NetPort(5, A, "h1", "pa"), NetPort(5, B, "h1", "pb"), NetPort(5, C, "h2", "pc"),
         NetPort(6, A, "h1", "pd"),           # same MAC as pa, another network
         NetPort(6, D, "h3", "pe")]
LOCAL = {"pa": 100, "pb": 101, "pd": 102}
TUNNELS = {"h2": 10, "h3": 11}


def test_flows_are_stable_and_owned_by_the_network_agent():
    one = compute_flows("h1", PORTS, LOCAL, TUNNELS)
    two = compute_flows("h1", list(reversed(PORTS)), dict(reversed(LOCAL.items())), TUNNELS)
    assert one == two
    assert all(f.cookie & L.COOKIE_OWNER_MASK == L.COOKIE_NETWORK for f in one)
    assert len({f.cookie for f in one}) == len(one)


def test_defaults_exist_without_any_port():
    flows = {(f.bridge, f.table, f.priority, f.match, f.actions)
             for f in compute_flows("h1", [], {}, {})}
    assert ("br-int", 5, 0, "", "goto_table:10") in flows
    assert ("br-int", 25, 0, "", "goto_table:30") in flows
    assert ("br-int", 0, 1, "in_port=2", "drop") in flows


def test_unplugged_ports_and_foreign_networks_get_no_flows():
    flows = compute_flows("h1", PORTS, {"pa": 100}, TUNNELS)
    text = "\n".join(f.body() for f in flows)
    assert "in_port=101" not in text and "reg6=6" not in text.replace("reg6=5", "")
    assert f"dl_dst={B}" not in text          # bound here but not plugged: unknown


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    if NEEDS_OVS.args[0]:
        pytest.skip(NEEDS_OVS.kwargs["reason"])
    host = OvsHost("h1", tmp_path_factory.mktemp("na"), dummy=True)
    host.start()
    db = Ovsdb(host)
    try:
        for br in (L.BR_INT, L.BR_TUN):
            db.ensure_bridge(br, datapath_type="dummy")
        db.ensure_patch_pair(L.BR_INT, "patch-tun", 1, L.BR_TUN, "patch-int", 1)
        for pid, ofport in LOCAL.items():
            db.ensure_port(L.BR_INT, f"vm-{pid}", type="dummy", ofport_request=ofport,
                           external_ids={"iface-id": pid})
        for peer, ofport in TUNNELS.items():
            db.ensure_port(L.BR_TUN, f"vx-{peer}", type="vxlan", ofport_request=ofport,
                           options={"remote_ip": f"192.0.2.{ofport}", "key": "flow"})
        flows = compute_flows("h1", PORTS, db.ofports_by_iface_id(L.BR_INT), TUNNELS)
        apply(host, flows)
        assert not any(r.changed for r in apply(host, flows).values())
        yield host
    finally:
        db.close()
        host.stop()


def trace(host, bridge, flow) -> str:
    return host.appctl("ofproto/trace", bridge, flow)


def outputs(text: str) -> set[str]:
    return set(re.findall(r"\boutput:(\d+)", text))


def test_trace_local_unicast(traced):
    out = trace(traced, "br-int", f"in_port=100,dl_src={A},dl_dst={B}")
    assert outputs(out) == {"101"}


def test_trace_remote_unicast_gets_vlan_then_vni(traced):
    out = trace(traced, "br-int", f"in_port=100,dl_src={A},dl_dst={C}")
    assert "set_field:4101->vlan_vid" in out and "set_field:0x5->tun_id" in out
    assert outputs(out) == {"1", "10"}       # patch-tun, then vx-h2 only


def test_trace_broadcast_floods_members_only_once(traced):
    out = trace(traced, "br-int", f"in_port=100,dl_src={A},dl_dst=ff:ff:ff:ff:ff:ff")
    # The local peer and host h2 (via patch-tun); not pd (other network), not h3, no hairpin.
    assert outputs(out) == {"101", "1", "10"}


def test_trace_broadcast_from_tunnel_does_not_go_back(traced):
    out = trace(traced, "br-tun", f"in_port=10,tun_id=5,dl_src={C},dl_dst=ff:ff:ff:ff:ff:ff")
    assert outputs(out) == {"1", "100", "101"}     # to br-int, its members; not back out


def test_trace_same_mac_other_network_is_isolated(traced):
    # pd shares pa's MAC on network 6: traffic to B (network 5) must not leave pd's network.
    out = trace(traced, "br-int", f"in_port=102,dl_src={A},dl_dst={B}")
    assert outputs(out) == set()
    out = trace(traced, "br-int", f"in_port=102,dl_src={A},dl_dst={D}")
    assert "set_field:0x6->tun_id" in out and outputs(out) == {"1", "11"}
