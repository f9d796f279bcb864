"""Compiled TaaS flows on real OVS bridges (dummy datapath), checked with ofproto/trace."""
import re

import pytest

from taas.dataplane import encoding
from taas.dataplane import layout as L
from taas.dataplane.compiler import compile_host
from taas.dataplane.model import HostFacts, HostState, TapFlowSpec, TapServiceSpec
from tests.dataplane import ovs_sandbox
from tests.dataplane.prod_pipeline import RemoteMac, VmPort, br_int_flows, br_tun_flows

pytestmark = pytest.mark.skipif(not ovs_sandbox.available(), reason="Open vSwitch not installed")

H, IP1, IP2 = "h1", "192.0.2.1", "192.0.2.2"
NET_A, NET_B, NET_M = 101, 102, 103
MAC_A1 = "02:00:00:0a:00:01"
VMS = [VmPort("a1", 100, MAC_A1, NET_A), VmPort("a2", 101, "02:00:00:0a:00:02", NET_A),
       VmPort("b1", 102, MAC_A1, NET_B),   # same MAC as a1, on another network
       VmPort("b2", 103, "02:00:00:0b:00:02", NET_B),
       VmPort("mon", 104, "02:00:00:0c:00:01", NET_M),
       VmPort("mon2", 105, "02:00:00:0c:00:02", NET_M)]
PORT = {v.name: v for v in VMS}
REMOTE_MAC = "02:00:00:0a:00:09"
REMOTE = [RemoteMac(REMOTE_MAC, NET_A, 10)]   # behind vx-h2 (ofport 10)
BCAST = "ff:ff:ff:ff:ff:ff"
S1, S2, S3 = 10000, 10001, 10002


@pytest.fixture(scope="module")
def sandbox():
    with ovs_sandbox.OvsSandbox() as sb:
        ovs_sandbox.build_taas_host(sb, {v.name: (v.ofport, f"port-{v.name}") for v in VMS},
                                    tunnel_ip=IP1,
                                    peers={"vx-h2": (10, IP2, "aa:55:aa:55:00:02")})
        sb.names = {n: name for name, n in sb.odp_ports().items()}
        yield sb


def install(sb, services=(), flows=()):
    """Production flows, then the compiled TaaS flows as one add-flows bundle per bridge."""
    compiled = compile_host(HostState(H, 1, tuple(services), tuple(flows)),
                            HostFacts(H, IP1, {f"port-{v.name}": v.ofport for v in VMS}))
    sb.replace_flows(L.BR_INT, br_int_flows(VMS, REMOTE))
    sb.replace_flows(L.BR_TUN, br_tun_flows(REMOTE, {NET_A: [10]}))
    sb.replace_flows(L.BR_TAP, [])
    for bridge in (L.BR_INT, L.BR_TUN, L.BR_TAP):
        lines = [f.add_line() for f in compiled.sorted_flows() if f.bridge == bridge]
        if lines:
            sb.add_flows(bridge, lines)
    return compiled


def deliveries(sb, trace):
    """(port name, vlans, vni, tun_dst, udp port) for every packet the datapath emits."""
    return sorted((sb.names[d.port], d.vlans, d.vni, d.tun_dst, d.udp_dst)
                  for d in trace.deliveries())


def vm(name, vlans=()):
    return (name, tuple(vlans), None, None, None)


def mirror_tunnel(session, dst=IP2):
    return ("taas-tun", (), session, dst, L.MIRROR_TUNNEL_UDP_PORT)


def pkt(src, dst_mac, vlan=None):
    v = PORT[src]
    return f"in_port={v.ofport},dl_src={v.mac},dl_dst={dst_mac}" + (
        f",dl_vlan={vlan}" if vlan is not None else "")


def from_mirror_tunnel(session):
    return (f"in_port={L.TUN_MIRROR_PORT},tun_id={session},tun_src={IP2},tun_dst={IP1},"
            f"dl_src=02:00:00:0a:00:09,dl_dst=02:00:00:0a:00:02")


def svc(id_, port, session):
    return TapServiceSpec(id_, f"port-{port}", session)


def tflow(id_, service, port, direction, session, host=H, ip=None, vlan_filter=None):
    return TapFlowSpec(id_, service, f"port-{port}", direction, session, host, ip, vlan_filter)


def traced(sb, flow, services=(), flows=(), bridge=L.BR_INT):
    """Deliveries without TaaS, then with: so each test can say what TaaS added."""
    install(sb)
    before = deliveries(sb, sb.trace(bridge, flow))
    install(sb, services, flows)
    trace = sb.trace(bridge, flow)
    return before, deliveries(sb, trace), trace


def added(before, after):
    rest = list(after)
    for d in before:
        rest.remove(d)   # the production deliveries are all still there, unchanged
    return rest


def test_production_pipeline_alone(sandbox):
    install(sandbox)
    assert deliveries(sandbox, sandbox.trace(L.BR_INT, pkt("a1", PORT["a2"].mac))) == [vm("a2")]
    assert deliveries(sandbox, sandbox.trace(L.BR_INT, pkt("a1", BCAST))) == [
        vm("a2"), ("vx-h2", (), NET_A, IP2, 4789)]


def test_local_out_copy_hairpins_to_the_monitor_only(sandbox):
    before, after, trace = traced(sandbox, pkt("a1", PORT["a2"].mac),
                                  [svc("s1", "mon", S1)], [tflow("f1", "s1", "a1", "OUT", S1)])
    assert before == [vm("a2")]
    assert added(before, after) == [vm("mon")]           # popped: no session tag left
    tag = encoding.match_session(S1)
    assert any(f"in_port={L.TAP_PATCH_INT},{tag}" in m for m in trace.matched(L.BR_TAP))
    assert any(f"in_port={L.INT_PATCH_TAP},{tag}" in m for m in trace.matched(L.BR_INT))
    assert L.BR_TUN not in trace.bridges


def test_remote_out_copy_leaves_on_the_mirror_tunnel(sandbox):
    before, after, trace = traced(sandbox, pkt("a1", REMOTE_MAC), [],
                                  [tflow("f1", "s9", "a1", "OUT", S2, "h2", IP2)])
    assert before == [("vx-h2", (), NET_A, IP2, 4789)]
    assert added(before, after) == [mirror_tunnel(S2)]   # VNI S2, UDP 4790, untagged inside
    assert trace.bridges.count(L.BR_TAP) == 1
    tag = encoding.match_session(S2)
    assert any(f"in_port={L.TUN_PATCH_TAP},{tag}" in m for m in trace.matched(L.BR_TUN))


@pytest.mark.parametrize("flow", [pkt("a1", PORT["a2"].mac), pkt("a1", BCAST),
                                  pkt("a1", "01:00:5e:00:00:fb")],
                         ids=["unicast", "broadcast", "multicast"])
def test_in_copies_what_is_delivered_to_the_port(sandbox, flow):
    before, after, _ = traced(sandbox, flow, [svc("s1", "mon", S1)],
                              [tflow("f1", "s1", "a2", "IN", S1)])
    assert vm("a2") in before
    assert added(before, after) == [vm("mon")]


def test_in_copies_traffic_arriving_from_another_host(sandbox):
    flow = (f"in_port=10,tun_id={NET_A},tun_src={IP2},tun_dst={IP1},"
            f"dl_src={REMOTE_MAC},dl_dst={BCAST}")
    before, after, _ = traced(sandbox, flow, [svc("s1", "mon", S1)],
                              [tflow("f1", "s1", "a2", "IN", S1)], bridge=L.BR_TUN)
    assert before == [vm("a1"), vm("a2")]
    assert added(before, after) == [vm("mon")]


def test_in_is_not_out(sandbox):
    before, after, _ = traced(sandbox, pkt("a2", PORT["a1"].mac), [svc("s1", "mon", S1)],
                              [tflow("f1", "s1", "a2", "IN", S1)])
    assert after == before == [vm("a1")]


def test_mac_collision_on_another_network_is_not_copied(sandbox):
    services, flows = [svc("s1", "mon", S1)], [tflow("f1", "s1", "a1", "IN", S1)]
    before, after, _ = traced(sandbox, pkt("b2", MAC_A1), services, flows)
    assert after == before == [vm("b1")]
    before, after, _ = traced(sandbox, pkt("a2", MAC_A1), services, flows)
    assert added(before, after) == [vm("mon")]


def test_both_directions_and_guest_tag_kept_inside(sandbox):
    services, flows = [svc("s1", "mon", S1)], [tflow("f1", "s1", "a1", "BOTH", S1)]
    before, after, _ = traced(sandbox, pkt("a1", PORT["a2"].mac, vlan=7), services, flows)
    assert before == [vm("a2", [(7, 0)])]
    assert added(before, after) == [vm("mon", [(7, 0)])]  # outer session tag pushed, popped
    before, after, _ = traced(sandbox, pkt("a2", MAC_A1), services, flows)
    assert added(before, after) == [vm("mon")]


def test_one_port_into_a_local_and_a_remote_service(sandbox):
    before, after, _ = traced(
        sandbox, pkt("a1", PORT["a2"].mac), [svc("s1", "mon", S1)],
        [tflow("f1", "s1", "a1", "OUT", S1), tflow("f2", "s9", "a1", "BOTH", S2, "h2", IP2)])
    assert sorted(added(before, after)) == sorted([vm("mon"), mirror_tunnel(S2)])


def test_sessions_stay_apart(sandbox):
    services = [svc("s1", "mon", S1), svc("s2", "mon2", S2)]
    flows = [tflow("f1", "s1", "a1", "BOTH", S1), tflow("f2", "s2", "b2", "OUT", S2)]
    before, after, _ = traced(sandbox, pkt("a1", PORT["a2"].mac), services, flows)
    assert added(before, after) == [vm("mon")]
    before, after, _ = traced(sandbox, pkt("b2", MAC_A1), services, flows)
    assert added(before, after) == [vm("mon2")]


def test_copies_arriving_on_the_mirror_tunnel_reach_the_monitor_popped(sandbox):
    install(sandbox, [svc("s1", "mon", S1)])
    trace = sandbox.trace(L.BR_TUN, from_mirror_tunnel(S1))
    assert deliveries(sandbox, trace) == [vm("mon")]
    assert trace.bridges == (L.BR_TUN, L.BR_TAP, L.BR_INT)
    # A session with no tap service here falls to the defaults: dropped.
    assert deliveries(sandbox, sandbox.trace(L.BR_TUN, from_mirror_tunnel(S3))) == []


def test_delivered_copies_are_not_copied_again(sandbox):
    # mon is the monitor of s1 and, in another session, a tapped source (BOTH).
    install(sandbox, [svc("s1", "mon", S1)],
            [tflow("f1", "s1", "a1", "OUT", S1), tflow("f2", "s9", "mon", "BOTH", S2, "h2", IP2)])
    assert deliveries(sandbox, sandbox.trace(L.BR_TUN, from_mirror_tunnel(S1))) == [vm("mon")]
    assert deliveries(sandbox, sandbox.trace(L.BR_INT, pkt("a1", PORT["a2"].mac))) == [
        vm("a2"), vm("mon")]
    # What mon itself sends is production traffic: copied for f2.
    assert mirror_tunnel(S2) in deliveries(sandbox, sandbox.trace(
        L.BR_INT, pkt("mon", PORT["mon2"].mac)))


def test_ovs_accepts_a_large_compiled_set_and_keeps_our_cookies(sandbox):
    ports = {f"port-{v.name}": v.ofport for v in VMS}
    services = tuple(TapServiceSpec(f"s{i}", f"port-{v.name}", 10000 + i)
                     for i, v in enumerate(VMS[4:]))
    flows = tuple(TapFlowSpec(f"f{i}", f"t{i}", f"port-{VMS[i % 6].name}",
                              ("IN", "OUT", "BOTH")[i % 3], 20000 + i, f"h{i % 3 + 2}",
                              f"192.0.2.{i % 3 + 2}" if i % 2 else f"fd00::{i % 3 + 2}",
                              (None, None, "1-4094", f"{i},{i + 100}-{i + 300}")[i % 4])
                  for i in range(200))
    compiled = compile_host(HostState(H, 1, services, flows), HostFacts(H, IP1, ports))
    assert set(compiled.statuses.values()) == {("ACTIVE", "")}
    install(sandbox)
    for bridge in (L.BR_INT, L.BR_TUN, L.BR_TAP):
        sandbox.add_flows(bridge, [f.add_line() for f in compiled.sorted_flows()
                                   if f.bridge == bridge])
        dump = sandbox.ofctl("dump-flows", bridge,
                             f"cookie={L.COOKIE_TAAS:#x}/{L.COOKIE_OWNER_MASK:#x}")
        got = {int(c, 16) for c in re.findall(r"cookie=(0x[0-9a-f]+)", dump)}
        assert got == {f.cookie for f in compiled.flows if f.bridge == bridge}



def traced_many(sb, flows, services=(), tap_flows=()):
    """traced() for several packets, installing each flow set once."""
    install(sb)
    before = [deliveries(sb, sb.trace(L.BR_INT, f)) for f in flows]
    install(sb, services, tap_flows)
    traces = [sb.trace(L.BR_INT, f) for f in flows]
    return [(b, deliveries(sb, t), t) for b, t in zip(before, traces)]


def test_vlan_filter_out_copies_only_tagged_packets_in_range(sandbox):
    cases = [(15, True), (10, True), (20, True), (30, True), (9, False), (21, False),
             (31, False), (None, False)]
    results = traced_many(sandbox, [pkt("a1", PORT["a2"].mac, vlan=v) for v, _ in cases],
                          [svc("s1", "mon", S1)],
                          [tflow("f1", "s1", "a1", "OUT", S1, vlan_filter="10-20,30")])
    for (vlan, copied), (before, after, trace) in zip(cases, results):
        tags = [(vlan, 0)] if vlan is not None else []
        assert before == [vm("a2", tags)], vlan                # production path unchanged
        assert added(before, after) == ([vm("mon", tags)] if copied else []), vlan
        # The hook resubmitted into the filter table; a packet out of range (or untagged)
        # hits TaaS's explicit priority-0 drop there, never a table miss.
        [hit] = [h for h in trace.matched(L.BR_INT)
                 if h.startswith(f"table={L.T_EGRESS_FILTER},")]
        if copied:
            assert hit.startswith(f"table={L.T_EGRESS_FILTER},priority={L.PRIO_TAAS_FILTER},"
                                  f"reg5=0x1,in_port={PORT['a1'].ofport},"), hit
        else:
            assert hit == f"table={L.T_EGRESS_FILTER},priority=0", hit


def test_vlan_filter_in_and_unfiltered_on_one_port(sandbox):
    """a2 has an unfiltered IN flow to mon, a filtered BOTH flow to a remote service and a
    filtered IN flow to mon2: each copies once, exactly when its filter says so."""
    services = [svc("s1", "mon", S1), svc("s2", "mon2", S3)]
    flows = [tflow("f1", "s1", "a2", "IN", S1),
             tflow("f2", "s9", "a2", "BOTH", S2, "h2", IP2, vlan_filter="100-200"),
             tflow("f3", "s2", "a2", "IN", S3, vlan_filter="150,300")]
    cases = [(150, ["mon", "tunnel", "mon2"]), (100, ["mon", "tunnel"]), (300, ["mon", "mon2"]),
             (99, ["mon"]), (None, ["mon"])]
    results = traced_many(sandbox, [pkt("a1", PORT["a2"].mac, vlan=v) for v, _ in cases],
                          services, flows)
    for (vlan, expected), (before, after, _) in zip(cases, results):
        tags = tuple([(vlan, 0)] if vlan is not None else [])
        assert before == [vm("a2", tags)], vlan
        # Copies keep the guest's tag inside (the session tag is popped or tunnelled).
        want = [("taas-tun", tags, S2, IP2, L.MIRROR_TUNNEL_UDP_PORT) if d == "tunnel"
                else vm(d, tags) for d in expected]
        assert sorted(added(before, after)) == sorted(want), vlan
