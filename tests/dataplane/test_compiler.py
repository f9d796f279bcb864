"""compile_host: semantics of the TaaS flows (via a flow interpreter), statuses, determinism."""
import dataclasses
import random
import re

import pytest

from taas.dataplane import encoding
from taas.dataplane import layout as L
from taas.dataplane.compiler import TAP_DEFAULT_DROP, CompiledHost, compile_host
from taas.dataplane.model import HostFacts, HostState, TapFlowSpec, TapServiceSpec
from tests.dataplane.flowsim import Out, Sim, parse_match, split_actions

H, H2, IP2 = "h1", "h2", "192.0.2.2"
PORTS = {"p-a": 100, "p-b": 101, "p-mon": 104, "p-mon2": 105, "p-patch": 1, "p-down": -1}
S1, S2, S3 = 10000, 10001, 10002


def svc(id_, port, session):
    return TapServiceSpec(id_, port, session)


def tf(id_, service, port, direction, session, host=H, ip=None, vlan_filter=None):
    return TapFlowSpec(id_, service, port, direction, session, host, ip, vlan_filter)


def compile_(services=(), flows=(), ports=PORTS) -> CompiledHost:
    return compile_host(HostState(H, 1, tuple(services), tuple(flows)),
                        HostFacts(H, "192.0.2.1", dict(ports)))


def to_mon(port, vlans=()):
    return Out("output", L.BR_INT, PORTS[port], tuple(vlans))


def to_tunnel(session, ip=IP2):
    return Out("output", L.BR_TUN, L.TUN_MIRROR_PORT, (), session, ip)


FILTER_TABLES = (L.T_EGRESS_FILTER, L.T_INGRESS_FILTER)
FILTER_OF = {L.T_EGRESS_HOOK: L.T_EGRESS_FILTER, L.T_INGRESS_HOOK: L.T_INGRESS_FILTER}
NEXT_OF = {L.T_EGRESS_HOOK: L.T_L2, L.T_INGRESS_HOOK: L.T_OUTPUT}
GOTO_L2 = Out("goto", L.BR_INT, L.T_L2)
GOTO_OUT = Out("goto", L.BR_INT, L.T_OUTPUT)
NO_OUT_HOOK = Out("miss", L.BR_INT, L.T_EGRESS_HOOK)
NO_IN_HOOK = Out("miss", L.BR_INT, L.T_INGRESS_HOOK)

# (name, services, tap flows, egress copies of p-a, ingress copies of p-a, from-tunnel {S: outs})
SCENARIOS = [
    ("local OUT", [svc("s1", "p-mon", S1)], [tf("f1", "s1", "p-a", "OUT", S1)],
     [to_mon("p-mon")], None, {S1: [to_mon("p-mon")]}),
    ("local IN", [svc("s1", "p-mon", S1)], [tf("f1", "s1", "p-a", "IN", S1)],
     None, [to_mon("p-mon")], {S1: [to_mon("p-mon")]}),
    ("local BOTH", [svc("s1", "p-mon", S1)], [tf("f1", "s1", "p-a", "BOTH", S1)],
     [to_mon("p-mon")], [to_mon("p-mon")], {S1: [to_mon("p-mon")]}),
    ("remote OUT", [], [tf("f1", "s9", "p-a", "OUT", S1, H2, IP2)],
     [to_tunnel(S1)], None, {S1: [Out("miss", L.BR_TUN, 0)]}),
    ("remote BOTH", [], [tf("f1", "s9", "p-a", "BOTH", S1, H2, IP2)],
     [to_tunnel(S1)], [to_tunnel(S1)], {}),
    ("monitor host only", [svc("s1", "p-mon", S1)], [],
     None, None, {S1: [to_mon("p-mon")], S2: [Out("miss", L.BR_TUN, 0)]}),
    ("one port into a local and a remote service",
     [svc("s1", "p-mon", S1)],
     [tf("f1", "s1", "p-a", "OUT", S1), tf("f2", "s2", "p-a", "BOTH", S2, H2, IP2)],
     [to_mon("p-mon"), to_tunnel(S2)], [to_tunnel(S2)], {S1: [to_mon("p-mon")]}),
    ("one port into two local services",
     [svc("s1", "p-mon", S1), svc("s2", "p-mon2", S2)],
     [tf("f1", "s1", "p-a", "OUT", S1), tf("f2", "s2", "p-a", "IN", S2)],
     [to_mon("p-mon")], [to_mon("p-mon2")], {S1: [to_mon("p-mon")], S2: [to_mon("p-mon2")]}),
    # Two tap flows asked for the same copies: each gets its own (one copy per tap flow).
    ("two tap flows of one port into one service",
     [svc("s1", "p-mon", S1)],
     [tf("f1", "s1", "p-a", "BOTH", S1), tf("f2", "s1", "p-a", "OUT", S1)],
     [to_mon("p-mon"), to_mon("p-mon")], [to_mon("p-mon")], {}),
    # p-mon is the monitor of s1 and the source of f2: copies delivered to it are not
    # production traffic, so they are not copied again (no hook on the delivery path).
    ("monitor port is also a source",
     [svc("s1", "p-mon", S1)],
     [tf("f1", "s1", "p-a", "OUT", S1), tf("f2", "s2", "p-mon", "BOTH", S2, H2, IP2)],
     [to_mon("p-mon")], None, {S1: [to_mon("p-mon")], S2: [Out("miss", L.BR_TUN, 0)]}),
    ("guest-tagged traffic keeps its tag inside", [svc("s1", "p-mon", S1)],
     [tf("f1", "s1", "p-a", "OUT", S1)], [to_mon("p-mon", [(7, 0)])], None, {}),
]


@pytest.mark.parametrize("name, services, flows, egress, ingress, arrivals", SCENARIOS,
                         ids=[s[0] for s in SCENARIOS])
def test_where_copies_go(name, services, flows, egress, ingress, arrivals):
    compiled = compile_(services, flows)
    assert set(compiled.statuses.values()) == {("ACTIVE", "")}
    sim = Sim(compiled.flows)
    guest = [(7, 0)] if "guest" in name else []
    out = sim.egress(PORTS["p-a"], guest)
    # The production path continues exactly where the default would have sent it.
    assert out[-1] == (Out("goto", L.BR_INT, L.T_L2, tuple(guest)) if egress else NO_OUT_HOOK)
    assert sim.copies(out) == sorted(egress or [])
    inn = sim.ingress(PORTS["p-a"])
    assert inn[-1] == (GOTO_OUT if ingress else NO_IN_HOOK)
    assert sim.copies(inn) == sorted(ingress or [])
    for session, expected in arrivals.items():
        assert sim.from_tunnel(session) == expected
    _assert_confined(compiled)


def _assert_confined(compiled: CompiledHost) -> None:
    """Every flow is TaaS's, in the tables/ports TaaS may use; copies reach only monitors."""
    monitors = {PORTS[port] for port in PORTS if "mon" in port}
    for f in compiled.flows:
        assert f.owner == L.COOKIE_TAAS and f.cookie >> 48 == L.COOKIE_TAAS >> 48
        m = parse_match(f.match)
        if f.bridge == L.BR_INT:
            assert f.table in (L.T_CLASSIFY, L.T_EGRESS_HOOK, L.T_INGRESS_HOOK, *FILTER_TABLES)
            if f.table == L.T_CLASSIFY:   # delivery: only from br-tap, only to a monitor
                assert m["in_port"] == str(L.INT_PATCH_TAP)
                assert split_actions(f.actions)[0] == "pop_vlan"
                assert int(split_actions(f.actions)[1].split(":")[1]) in monitors
            elif f.table in FILTER_TABLES:  # filters: copies to br-tap only, else drop
                key = "in_port" if f.table == L.T_EGRESS_FILTER else L.REG_OUT_PORT
                if f.priority == 0:
                    assert (f.match, f.actions) == ("", "drop")
                else:
                    assert f.priority == L.PRIO_TAAS_FILTER
                    assert list(m) == [L.REG_TAP_FLOW, key, "vlan_vid"]
                    assert int(m["vlan_vid"].split("/")[1], 0) & 0x1000   # tagged only
                    assert f.actions.endswith(f",output:{L.INT_PATCH_TAP}")
                    assert "resubmit" not in f.actions and "goto" not in f.actions
            else:                         # hooks: copies go to br-tap (or its filter) only
                *clones, goto = split_actions(f.actions)
                resubmit = re.escape(f"->{L.REG_TAP_FLOW},resubmit(,{FILTER_OF[f.table]}))")
                assert all(c.startswith("clone(") and (
                    c.endswith(f"output:{L.INT_PATCH_TAP})")
                    or re.fullmatch(rf"clone\(set_field:[1-9]\d*{resubmit}", c))
                    for c in clones)
                assert goto == f"goto_table:{NEXT_OF[f.table]}"
        elif f.bridge == L.BR_TUN:
            assert f.table == 0 and m["in_port"] in (str(L.TUN_PATCH_TAP),
                                                     str(L.TUN_MIRROR_PORT))
        else:
            assert f.bridge == L.BR_TAP


def test_empty_state_owns_only_the_br_tap_default():
    compiled = compile_()
    assert compiled.flows == {TAP_DEFAULT_DROP}
    assert compiled.statuses == {} and not compiled.needs_mirror_tunnel


def test_local_out_exact_flows():
    vid, pcp = encoding.session_tag(S1)
    tag = f"dl_vlan={vid},dl_vlan_pcp={pcp}"
    push = f"push_vlan:0x8100,set_field:{0x1000 | vid}->vlan_vid,set_field:{pcp}->vlan_pcp"
    compiled = compile_([svc("s1", "p-mon", S1)], [tf("f1", "s1", "p-a", "OUT", S1)])
    assert {(f.bridge, f.body()) for f in compiled.flows} == {
        ("br-int",
         f"table=5,priority=100,in_port=100,actions=clone({push},output:2),goto_table:10"),
        ("br-int", f"table=0,priority=200,in_port=2,{tag},actions=pop_vlan,output:104"),
        ("br-tap", f"table=0,priority=100,in_port=1,{tag},actions=IN_PORT"),
        ("br-tap", f"table=0,priority=100,in_port=2,{tag},actions=output:1"),
        ("br-tun", f"table=0,priority=200,in_port=3,tun_id={S1},actions={push},output:2"),
        ("br-tap", "table=0,priority=0,actions=drop"),
    }


def test_remote_flow_sets_tunnel_key_and_destination():
    compiled = compile_(flows=[tf("f1", "s9", "p-a", "IN", S1, H2, IP2)])
    [tun] = [f for f in compiled.flows if f.bridge == L.BR_TUN]
    assert parse_match(tun.match)["in_port"] == str(L.TUN_PATCH_TAP)
    assert split_actions(tun.actions) == [
        "pop_vlan", f"set_field:{S1}->tun_id", f"set_field:{IP2}->tun_dst", "output:3"]
    assert compiled.needs_mirror_tunnel
    assert not [f for f in compiled.flows if f.bridge == L.BR_INT and f.table == 0]


def test_ipv6_underlay_uses_tun_ipv6_dst():
    compiled = compile_(flows=[tf("f1", "s9", "p-a", "OUT", S1, H2, "fd00::2")])
    assert Sim(compiled.flows).copies(Sim(compiled.flows).egress(100)) == [to_tunnel(S1, "fd00::2")]
    assert any("->tun_ipv6_dst" in f.actions for f in compiled.flows)


def test_copies_never_reach_another_sessions_monitor():
    compiled = compile_([svc("s1", "p-mon", S1), svc("s2", "p-mon2", S2)],
                        [tf("f1", "s1", "p-a", "BOTH", S1), tf("f2", "s2", "p-b", "OUT", S2)])
    sim = Sim(compiled.flows)
    assert sim.copies(sim.egress(100)) == [to_mon("p-mon")]
    assert sim.copies(sim.egress(101)) == [to_mon("p-mon2")]
    assert sim.copies(sim.ingress(101)) == []


@pytest.mark.parametrize("services, flows, expected", [
    ([], [tf("f1", "s9", "p-gone", "OUT", S1, H2, IP2)],
     {"f1": ("ERROR", "source port p-gone is not plugged on host h1")}),
    ([svc("s1", "p-gone", S1)], [tf("f1", "s1", "p-a", "OUT", S1)],
     {"s1": ("ERROR", "monitor port p-gone is not plugged on host h1"),
      "f1": ("ERROR", "tap service s1 (session 10000) is not ready on host h1")}),
    ([svc("s1", "p-patch", S1)], [tf("f1", "s9", "p-down", "OUT", S2, H2, IP2)],
     {"s1": ("ERROR", "monitor port p-patch has ofport 1 on host h1, not a VM port (>= 100)"),
      "f1": ("ERROR", "source port p-down has ofport -1 on host h1, not a VM port (>= 100)")}),
    ([], [tf("f1", "s9", "p-a", "OUT", S1, None, None)],
     {"f1": ("ERROR", "the port of tap service s9 is not bound to a host yet; "
                      "no destination for the copies")}),
    ([], [tf("f1", "s9", "p-a", "OUT", S1, H2, None)],
     {"f1": ("ERROR", "host h2 of tap service s9 has no known tunnel address")}),
    ([], [tf("f1", "s9", "p-a", "OUT", S1, H2, "not-an-ip")],
     {"f1": ("ERROR", "tunnel address 'not-an-ip' of host h2 is not an IP")}),
    ([], [tf("f1", "s9", "p-a", "SIDEWAYS", S1, H2, IP2)],
     {"f1": ("ERROR", "direction 'SIDEWAYS' is not one of IN, OUT, BOTH")}),
    ([], [tf("f1", "s9", "p-a", "OUT", S1, H2, IP2, vlan_filter="10-20,abc")],
     {"f1": ("ERROR", "vlan_filter '10-20,abc' is not valid: "
                      "'abc' is not a VLAN id or a range like 10-20")}),
    ([], [tf("f1", "s9", "p-a", "OUT", S1, H2, IP2, vlan_filter="4096")],
     {"f1": ("ERROR", "vlan_filter '4096' is not valid: VLAN id 4096 is above 4095")}),
    ([], [tf("f1", "s9", "p-a", "OUT", S1, H2, IP2, vlan_filter="20-10")],
     {"f1": ("ERROR", "vlan_filter '20-10' is not valid: range 20-10 is reversed")}),
    # "" is not "no filter" (that is None): refused rather than mirroring everything.
    ([], [tf("f1", "s9", "p-a", "OUT", S1, H2, IP2, vlan_filter="")],
     {"f1": ("ERROR", "vlan_filter '' is not valid: '' is not a VLAN id or a range like 10-20")}),
    ([], [tf("f1", "s9", "p-a", "OUT", S1, H2, IP2, vlan_filter=["10"])],
     {"f1": ("ERROR", "vlan_filter ['10'] is not valid: vlan_filter ['10'] is not a string")}),
    ([svc("s1", "p-mon", -5)], [],
     {"s1": ("ERROR", "session id -5 is not a non-negative integer")}),
    ([svc("s1", "p-mon", 2**24)], [],
     {"s1": ("ERROR", "session id 16777216 does not fit a 24-bit VXLAN key")}),
    ([svc("s1", "p-mon", S1), svc("s2", "p-mon2", S1)], [],
     {"s1": ("ERROR", "session 10000 is claimed by tap services s1, s2"),
      "s2": ("ERROR", "session 10000 is claimed by tap services s1, s2")}),
    ([svc("s1", "p-mon", S1)], [tf("f1", "s2", "p-a", "OUT", S1)],
     {"s1": ("ACTIVE", ""),
      "f1": ("ERROR", "session 10000 belongs to tap service s1 on host h1, not s2")}),
    # Two flows of one session disagree about where its monitor is: neither guesses.
    ([], [tf("f1", "s9", "p-a", "OUT", S1, H2, IP2),
          tf("f2", "s9", "p-b", "OUT", S1, "h3", "192.0.2.3")],
     {"f1": ("ERROR", "tap flows of session 10000 disagree on the destination "
                      "(s9 at 192.0.2.2; s9 at 192.0.2.3)"),
      "f2": ("ERROR", "tap flows of session 10000 disagree on the destination "
                      "(s9 at 192.0.2.2; s9 at 192.0.2.3)")}),
    ([svc("s1", "p-mon", S1)], [tf("f1", "s1", "p-a", "OUT", S1, H2, IP2)],
     {"s1": ("ACTIVE", ""),
      "f1": ("ERROR", "tap flows of session 10000 disagree on the destination "
                      "(s1 at 192.0.2.2; s1 at h1)")}),
    # Ids 32752 apart share a tag: refuse both rather than mix their copies.
    ([svc("s1", "p-mon", S1)], [tf("f1", "s9", "p-a", "OUT", S1 + 32752, H2, IP2)],
     {"s1": ("ERROR", "session 10000 has the same VLAN encoding as session(s) [42752] "
                      "on this host"),
      "f1": ("ERROR", "session 42752 has the same VLAN encoding as session(s) [10000] "
                      "on this host")}),
])
def test_errors_install_nothing_for_the_resource(services, flows, expected):
    compiled = compile_(services, flows)
    assert compiled.statuses == expected
    errored = {k for k, (status, _) in expected.items() if status == "ERROR"}
    sim = Sim(compiled.flows)
    for f in flows:
        if f.id in errored and PORTS.get(f.source_port_id, 0) >= 100:
            assert sim.copies(sim.egress(PORTS[f.source_port_id])) == []
            assert sim.copies(sim.ingress(PORTS[f.source_port_id])) == []
    for s in services:
        if s.id in errored and s.session_id >= 0:
            assert sim.from_tunnel(s.session_id)[0].kind == "miss"


def test_one_error_does_not_hide_the_others():
    compiled = compile_([svc("s1", "p-mon", S1)],
                        [tf("f1", "s1", "p-a", "OUT", S1), tf("f2", "s1", "p-gone", "OUT", S1)])
    assert compiled.statuses["f1"] == ("ACTIVE", "")
    assert compiled.statuses["f2"][0] == "ERROR"
    sim = Sim(compiled.flows)
    assert sim.copies(sim.egress(100)) == [to_mon("p-mon")]


@pytest.mark.parametrize("services, flows, needs", [
    ([], [], False),
    ([], [tf("f1", "s1", "p-a", "OUT", S1, H, None)], False),   # local only, even unready
    ([svc("s1", "p-mon", S1)], [tf("f1", "s1", "p-a", "OUT", S1)], True),  # remote may arrive
    ([svc("s1", "p-gone", S1)], [], True),
    ([], [tf("f1", "s9", "p-a", "OUT", S1, H2, IP2)], True),
    ([], [tf("f1", "s9", "p-gone", "OUT", S1, H2, IP2)], True),
])
def test_needs_mirror_tunnel(services, flows, needs):
    assert compile_(services, flows).needs_mirror_tunnel is needs


def test_clones_in_one_flow_sorted_by_tap_flow_id():
    flows = [tf(f"f{i}", "s9", "p-a", "OUT", S1 + i, H2, IP2) for i in (3, 1, 2)]
    compiled = compile_(flows=flows)
    [hook] = [f for f in compiled.flows if f.table == L.T_EGRESS_HOOK]
    clones = split_actions(hook.actions)[:-1]
    assert clones == [f"clone({encoding.push_session_actions(S1 + i)},output:2)"
                      for i in (1, 2, 3)]


def test_host_mismatch_is_a_programming_error():
    with pytest.raises(ValueError):
        compile_host(HostState("h1", 1), HostFacts("h2", None, {}))


def _big_state(seed: int):
    rng = random.Random(seed)
    ports = {f"p{i}": 100 + i for i in range(40)}
    services = [svc(f"s{i}", f"p{i}", 10000 + i) for i in range(10)]
    flows = [tf(f"f{i}", f"s{i % 10}", f"p{10 + i % 30}", ("IN", "OUT", "BOTH")[i % 3],
                10000 + i % 10, vlan_filter=(None, "10-20,30", "0-4095", "7")[i % 4])
             for i in range(60)]
    flows += [tf(f"r{i}", f"t{i}", f"p{i % 40}", "BOTH", 20000 + i, f"h{i % 4 + 2}",
                 f"192.0.2.{i % 4 + 2}") for i in range(30)]
    rng.shuffle(services)
    rng.shuffle(flows)
    items = list(ports.items())
    rng.shuffle(items)
    return HostState(H, 7, tuple(services), tuple(flows)), HostFacts(H, "192.0.2.1", dict(items))


def test_deterministic_whatever_the_input_order():
    first = compile_host(*_big_state(1))
    for seed in range(2, 6):
        again = compile_host(*_big_state(seed))
        assert again == first
        assert [f.add_line() for f in again.sorted_flows()] == \
            [f.add_line() for f in first.sorted_flows()]
        assert list(again.statuses) == list(first.statuses)   # sorted by id
    assert set(first.statuses.values()) == {("ACTIVE", "")}
    # One hook flow per (table, port), never two flows that OVS would have to choose between.
    hooks = [(f.table, f.match) for f in first.flows if f.table in (5, 25)]
    assert len(hooks) == len(set(hooks))
    assert len({f.cookie for f in first.flows}) == len(first.flows)


# ---- vlan_filter ----------------------------------------------------------------------------
MON, MON2 = to_mon("p-mon"), to_mon("p-mon2")
SERVICES = [svc("s1", "p-mon", S1), svc("s2", "p-mon2", S2)]


def copies_with(vlans, *outs):
    """The copies expected for a packet with `vlans`: each keeps the packet's own tags."""
    return sorted(dataclasses.replace(o, vlans=tuple(vlans)) for o in outs)


MIXED = [tf("f1", "s1", "p-a", "OUT", S1),                                   # everything
         tf("f2", "s2", "p-a", "BOTH", S2, vlan_filter="100-200"),
         tf("f3", "s9", "p-a", "OUT", S3, H2, IP2, vlan_filter="150"),
         tf("f4", "s1", "p-a", "OUT", S1, vlan_filter="0-4095")]             # any tagged
# (name, tap flows, direction, the packet's VLANs outermost first, copies expected)
FILTER_CASES = [
    *[(f"OUT 10-20,30 vlan {v}", [tf("f1", "s1", "p-a", "OUT", S1, vlan_filter="10-20,30")],
       "OUT", [(v, 3)], [MON] if v in (10, 11, 15, 19, 20, 30) else [])
      for v in (9, 10, 11, 15, 19, 20, 21, 29, 30, 31, 4095)],
    ("OUT filtered, untagged", [tf("f1", "s1", "p-a", "OUT", S1, vlan_filter="10-20,30")],
     "OUT", [], []),
    ("OUT filtered, seen IN", [tf("f1", "s1", "p-a", "OUT", S1, vlan_filter="10-20")],
     "IN", [(15, 0)], []),
    ("IN filtered, in range", [tf("f1", "s1", "p-a", "IN", S1, vlan_filter="4000-4095")],
     "IN", [(4001, 0)], [MON]),
    ("IN filtered, out of range", [tf("f1", "s1", "p-a", "IN", S1, vlan_filter="4000-4095")],
     "IN", [(3999, 0)], []),
    ("IN filtered, untagged", [tf("f1", "s1", "p-a", "IN", S1, vlan_filter="0-4095")],
     "IN", [], []),
    ("BOTH filtered, OUT", [tf("f1", "s1", "p-a", "BOTH", S1, vlan_filter="7")],
     "OUT", [(7, 0)], [MON]),
    ("BOTH filtered, IN", [tf("f1", "s1", "p-a", "BOTH", S1, vlan_filter="7")],
     "IN", [(7, 0)], [MON]),
    ("remote filtered", [tf("f1", "s9", "p-a", "BOTH", S3, H2, IP2, vlan_filter="5-6")],
     "IN", [(6, 0)], [to_tunnel(S3)]),
    ("priority tag is vid 0", [tf("f1", "s1", "p-a", "OUT", S1, vlan_filter="0")],
     "OUT", [(0, 5)], [MON]),
    ("only the outer tag counts", [tf("f1", "s1", "p-a", "OUT", S1, vlan_filter="99")],
     "OUT", [(15, 0), (99, 0)], []),
    ("outer tag of a double-tagged packet", [tf("f1", "s1", "p-a", "OUT", S1,
                                                vlan_filter="15")],
     "OUT", [(15, 0), (99, 0)], [MON]),
    ("overlapping filters into one service: one copy each",
     [tf("f1", "s1", "p-a", "OUT", S1, vlan_filter="10-20"),
      tf("f2", "s1", "p-a", "OUT", S1, vlan_filter="15-30")], "OUT", [(17, 0)], [MON, MON]),
    ("overlapping filters, only the second",
     [tf("f1", "s1", "p-a", "OUT", S1, vlan_filter="10-20"),
      tf("f2", "s1", "p-a", "OUT", S1, vlan_filter="15-30")], "OUT", [(25, 0)], [MON]),
    ("mixed, untagged OUT", MIXED, "OUT", [], [MON]),
    ("mixed, vlan 150 OUT", MIXED, "OUT", [(150, 0)], [MON, MON2, to_tunnel(S3), MON]),
    ("mixed, vlan 100 OUT", MIXED, "OUT", [(100, 0)], [MON, MON2, MON]),
    ("mixed, vlan 4095 OUT", MIXED, "OUT", [(4095, 0)], [MON, MON]),
    ("mixed, vlan 150 IN", MIXED, "IN", [(150, 0)], [MON2]),
    ("mixed, untagged IN", MIXED, "IN", [], []),
]


@pytest.mark.parametrize("name, flows, direction, vlans, expected", FILTER_CASES,
                         ids=[c[0] for c in FILTER_CASES])
def test_vlan_filter_copies(name, flows, direction, vlans, expected):
    compiled = compile_(SERVICES, flows)
    assert set(compiled.statuses.values()) == {("ACTIVE", "")}
    sim = Sim(compiled.flows)
    port = PORTS["p-a"]
    out = sim.egress(port, vlans) if direction == "OUT" else sim.ingress(port, vlans=vlans)
    # Production continues unchanged; no lookup misses (the filter tables end in a drop).
    nxt = L.T_L2 if direction == "OUT" else L.T_OUTPUT
    hooked = any(f.direction in (direction, "BOTH") for f in flows)
    assert out[-1] == (Out("goto", L.BR_INT, nxt, tuple(vlans)) if hooked else
                       Out("miss", L.BR_INT, L.T_EGRESS_HOOK if direction == "OUT"
                           else L.T_INGRESS_HOOK, tuple(vlans)))
    assert [o for o in out if o.kind != "output"] == [out[-1]]
    # One copy per matching tap flow, each with the packet's own tags (session tag removed).
    assert sim.copies(out) == copies_with(vlans, *expected)
    _assert_confined(compiled)


def test_vlan_filter_exact_flows():
    compiled = compile_(SERVICES, [tf("f1", "s1", "p-a", "OUT", S1, vlan_filter="30,10-20"),
                                   tf("f2", "s1", "p-a", "OUT", S1),
                                   tf("f3", "s2", "p-a", "IN", S2, vlan_filter="4095")])
    push1, push2 = encoding.push_session_actions(S1), encoding.push_session_actions(S2)
    br_int = {f.body() for f in compiled.flows if f.bridge == L.BR_INT and f.table != 0}
    assert br_int == {
        f"table=5,priority=100,in_port=100,actions=clone(set_field:1->reg5,resubmit(,6)),"
        f"clone({push1},output:2),goto_table:10",
        *(f"table=6,priority=100,reg5=1,in_port=100,vlan_vid={m},actions={push1},output:2"
          for m in ("0x100a/0x1ffe", "0x100c/0x1ffc", "0x1010/0x1ffc", "0x1014/0x1fff",
                    "0x101e/0x1fff")),
        "table=6,priority=0,actions=drop",
        "table=25,priority=100,reg7=100,actions=clone(set_field:1->reg5,resubmit(,26)),"
        "goto_table:30",
        f"table=26,priority=100,reg5=1,reg7=100,vlan_vid=0x1fff/0x1fff,actions={push2},output:2",
        "table=26,priority=0,actions=drop",
    }


def test_unfiltered_hosts_get_no_filter_table_flows():
    compiled = compile_(SERVICES, [tf("f1", "s1", "p-a", "BOTH", S1)])
    assert not [f for f in compiled.flows if f.table in FILTER_TABLES]
    only_out = compile_(SERVICES, [tf("f1", "s1", "p-a", "OUT", S1, vlan_filter="1")])
    assert {f.table for f in only_out.flows if f.table in FILTER_TABLES} == {L.T_EGRESS_FILTER}


def test_filter_index_is_per_port_and_ports_stay_apart():
    compiled = compile_(SERVICES, [tf("f1", "s1", "p-a", "OUT", S1, vlan_filter="10"),
                                   tf("f2", "s2", "p-b", "OUT", S2, vlan_filter="20")])
    sim = Sim(compiled.flows)
    assert sim.copies(sim.egress(PORTS["p-a"], [(10, 0)])) == [to_mon("p-mon", [(10, 0)])]
    assert sim.copies(sim.egress(PORTS["p-a"], [(20, 0)])) == []
    assert sim.copies(sim.egress(PORTS["p-b"], [(20, 0)])) == [to_mon("p-mon2", [(20, 0)])]
    assert sim.copies(sim.egress(PORTS["p-b"], [(10, 0)])) == []
    hooks = sorted(f.actions for f in compiled.flows if f.table == L.T_EGRESS_HOOK)
    assert hooks == ["clone(set_field:1->reg5,resubmit(,6)),goto_table:10"] * 2


def test_filter_index_follows_tap_flow_id_order():
    flows = [tf(f"f{i}", "s1", "p-a", "OUT", S1, vlan_filter=str(i)) for i in (3, 1, 2)]
    compiled = compile_(SERVICES, flows)
    [hook] = [f for f in compiled.flows if f.table == L.T_EGRESS_HOOK]
    assert split_actions(hook.actions)[:-1] == [
        f"clone(set_field:{k}->reg5,resubmit(,6))" for k in (1, 2, 3)]
    by_k = {parse_match(f.match)["reg5"]: parse_match(f.match)["vlan_vid"]
            for f in compiled.flows if f.table == L.T_EGRESS_FILTER and f.priority}
    assert by_k == {"1": "0x1001/0x1fff", "2": "0x1002/0x1fff", "3": "0x1003/0x1fff"}
