"""Packets at monitors, counted with tcpdump: directions, locality, isolation, deletes."""
from __future__ import annotations

import pytest

from taas.dataplane import layout as L
from taas.lab.pcap import ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST
from taas.ovs.flows import installed_cookies
from tests.integration.conftest import Monitors, mirror, send_udp_broadcast

pytestmark = pytest.mark.lab

A1, A2, A3 = "10.10.0.11", "10.10.0.12", "10.10.0.13"
B1 = "10.20.0.11"


def echoes(packets, src=None, dst=None, kind=ICMP_ECHO_REQUEST):
    return [p for p in packets if p.is_icmp_echo and p.icmp_type == kind
            and (src is None or p.src_ip == src) and (dst is None or p.dst_ip == dst)]


def ping(cloud, vm, ip, count=5):
    result = cloud.lab.ping(vm, ip, count=count)
    assert result.ok, result        # production is intact: every reply, no duplicates
    return result


def taas_flows(cloud, host):
    return {br: len(installed_cookies(cloud.lab.ovs(host), br, L.COOKIE_TAAS))
            for br in (L.BR_INT, L.BR_TAP, L.BR_TUN)}


@pytest.mark.parametrize("monitor", ["mon-r", "mon-l"], ids=["remote", "local"])
def test_out_copies_exactly_what_the_port_sends(cloud, alice, monitor):
    mirror(alice, "a1", monitor, "OUT")
    with Monitors(cloud, monitor, "bmon") as seen:
        ping(cloud, "a1", A2)
    assert len(echoes(seen[monitor], src=A1, dst=A2)) == 5
    assert echoes(seen[monitor], kind=ICMP_ECHO_REPLY) == []
    assert seen["bmon"] == []


@pytest.mark.parametrize("monitor", ["mon-r", "mon-l"], ids=["remote", "local"])
def test_in_copies_exactly_what_the_port_receives(cloud, alice, monitor):
    mirror(alice, "a1", monitor, "IN")
    with Monitors(cloud, monitor) as seen:
        ping(cloud, "a2", A1)          # a2 on the other host
        ping(cloud, "a3", A1)          # a3 on a1's host
    assert len(echoes(seen[monitor], src=A2, dst=A1)) == 5
    assert len(echoes(seen[monitor], src=A3, dst=A1)) == 5
    assert echoes(seen[monitor], kind=ICMP_ECHO_REPLY) == []


def test_both_gives_one_copy_of_each_packet(cloud, alice):
    mirror(alice, "a1", "mon-r", "BOTH")
    with Monitors(cloud, "mon-r", "mon-l") as seen:
        ping(cloud, "a1", A2)
        ping(cloud, "a3", A1)
    assert len(echoes(seen["mon-r"], src=A1, dst=A2)) == 5
    assert len(echoes(seen["mon-r"], src=A2, dst=A1, kind=ICMP_ECHO_REPLY)) == 5
    assert len(echoes(seen["mon-r"], src=A3, dst=A1)) == 5
    assert len(echoes(seen["mon-r"], src=A1, dst=A3, kind=ICMP_ECHO_REPLY)) == 5
    assert seen["mon-l"] == []         # another monitor of the same tenant gets nothing


def test_in_includes_broadcast(cloud, alice):
    mirror(alice, "a1", "mon-r", "IN")
    with Monitors(cloud, "mon-r") as seen:
        send_udp_broadcast(cloud, "a2", "10.10.0.255", 4)
    bcast = [p for p in seen["mon-r"] if p.dst_mac == "ff:ff:ff:ff:ff:ff" and p.proto == 17]
    assert len(bcast) == 4


def test_colliding_mac_on_another_network_never_leaks(cloud, alice):
    mirror(alice, "a1", "mon-r", "BOTH")
    with Monitors(cloud, "mon-r") as seen:
        ping(cloud, "b2", B1)          # bob's b1 has a1's MAC
        send_udp_broadcast(cloud, "b2", "10.20.0.255", 3)
    assert [p for p in seen["mon-r"] if p.src_ip and p.src_ip.startswith("10.20.")] == []
    assert [p for p in seen["mon-r"] if p.dst_ip and p.dst_ip.startswith("10.20.")] == []


def test_two_tap_flows_on_one_port_then_delete_one(cloud, alice):
    ts_r, tf_r = mirror(alice, "a1", "mon-r", "OUT")
    ts_l, tf_l = mirror(alice, "a1", "mon-l", "OUT")
    with Monitors(cloud, "mon-r", "mon-l") as seen:
        ping(cloud, "a1", A2)
    assert len(echoes(seen["mon-r"], src=A1)) == 5
    assert len(echoes(seen["mon-l"], src=A1)) == 5

    alice.delete("tap_flow", tf_r["id"])
    cloud.settle()
    with Monitors(cloud, "mon-r", "mon-l") as seen:
        ping(cloud, "a1", A2)
    assert echoes(seen["mon-r"]) == []
    assert len(echoes(seen["mon-l"], src=A1)) == 5


def test_delete_stops_copies_and_removes_flows(cloud, alice):
    empty = {h: taas_flows(cloud, h) for h in ("h1", "h2")}
    ts, _ = mirror(alice, "a1", "mon-r", "BOTH")
    assert taas_flows(cloud, "h1") != empty["h1"]
    alice.delete("tap_service", ts["id"])          # cascades to its tap flow
    cloud.settle()
    with Monitors(cloud, "mon-r") as seen:
        ping(cloud, "a1", A2)
    assert echoes(seen["mon-r"]) == []
    assert {h: taas_flows(cloud, h) for h in ("h1", "h2")} == empty


def test_production_traffic_is_the_same_with_the_tap(cloud, alice):
    assert cloud.lab.tcp("a1", "a2")
    mirror(alice, "a1", "mon-r", "BOTH")
    ping(cloud, "a1", A2, count=10)
    assert cloud.lab.tcp("a1", "a2")
    assert cloud.lab.tcp("a2", "a1")


def test_agent_restart_keeps_flows_without_duplicates(cloud, alice):
    mirror(alice, "a1", "mon-r", "BOTH")
    before = taas_flows(cloud, "h1")
    cloud.stop_agent("h1")
    agent = cloud.start_agent("h1")
    assert agent.service.wait_for_pass(0, 30)
    assert agent.service.last_result.added == 0 and agent.service.last_result.removed == 0
    assert taas_flows(cloud, "h1") == before
    with Monitors(cloud, "mon-r") as seen:
        ping(cloud, "a1", A2)
    assert len(echoes(seen["mon-r"], src=A1)) == 5


def test_vswitchd_restart_restores_flows(cloud, alice):
    mirror(alice, "a1", "mon-r", "BOTH")
    before = taas_flows(cloud, "h1")
    cloud.lab.restart_vswitchd("h1")
    cloud.lab.reconcile("h1")          # the network agent restores production
    cloud.settle()                     # the TaaS agent restores its own flows
    assert taas_flows(cloud, "h1") == before
    with Monitors(cloud, "mon-r") as seen:
        ping(cloud, "a1", A2)
    assert len(echoes(seen["mon-r"], src=A1)) == 5
