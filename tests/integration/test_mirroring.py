"""Packets at monitors, counted with tcpdump: directions, locality, isolation, deletes."""
from __future__ import annotations

import socket
import struct
import time

import pytest

from taas.dataplane import layout as L
from taas.lab.pcap import ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST
from taas.lab.probe import socket_in
from taas.ovs.flows import installed_cookies
from tests.integration.conftest import Monitors, mirror, send_udp_broadcast, wait_connectivity

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
    wait_connectivity(cloud, "a1", A2)
    with Monitors(cloud, "mon-r") as seen:
        ping(cloud, "a1", A2)
    assert len(echoes(seen["mon-r"], src=A1)) == 5


def send_tagged_broadcast(cloud, vm: str, vid: int | None, count: int) -> None:
    """Raw frames from the VM's eth0, 802.1Q-tagged with `vid` (None: untagged), UDP inside.

    Built by hand because the lab's kernel may lack 8021q for VLAN subinterfaces."""
    mac = bytes.fromhex(cloud.lab.port(vm).mac.replace(":", ""))
    sock = socket_in(cloud.lab.netns(vm), socket.AF_PACKET, socket.SOCK_RAW)
    try:
        sock.bind(("eth0", 0))
        for i in range(count):
            udp = struct.pack("!HHHH", 9999, 9999, 8 + 4, 0) + struct.pack("!I", i)
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                             bytes([10, 60, 0, 11]), bytes([10, 60, 0, 255]))
            tag = struct.pack("!HH", 0x8100, vid) if vid is not None else b""
            sock.send(b"\xff" * 6 + mac + tag + struct.pack("!H", 0x0800) + ip + udp)
            time.sleep(0.02)
    finally:
        sock.close()


def test_vlan_filter_mirrors_only_the_listed_guest_vlans(cloud, alice):
    ts = alice.tap_service("mon-r")
    alice.made.append(("tap_service", ts["id"]))
    r = alice.http.post("/v2.0/taas/tap_flows", json={"tap_flow": {
        "tap_service_id": ts["id"], "source_port": alice.port_id("a1"),
        "direction": "OUT", "vlan_filter": "5-10,30"}})
    assert r.status_code == 201, r.text
    alice.made.append(("tap_flow", r.json()["tap_flow"]["id"]))
    alice.wait_status("tap_flow", r.json()["tap_flow"]["id"])
    with Monitors(cloud, "mon-r") as seen:
        send_tagged_broadcast(cloud, "a1", 10, 3)      # in the filter
        send_tagged_broadcast(cloud, "a1", 30, 2)      # in the filter
        send_tagged_broadcast(cloud, "a1", 20, 4)      # not in it
        send_tagged_broadcast(cloud, "a1", None, 2)    # untagged: never, for a filtered flow
    udp = [p for p in seen["mon-r"] if p.proto == 17]
    assert sorted(p.vlans for p in udp) == [(10,)] * 3 + [(30,)] * 2


def test_a_dropped_notification_costs_latency_not_correctness(cloud, alice, monkeypatch):
    dropped = []
    # Fault injection at the bus: every "host changed" cast is lost on its way.
    monkeypatch.setattr(cloud._server_rpc.notifier, "cast", dropped.append)
    ts, tf = mirror(alice, "a1", "mon-r", "OUT")     # ACTIVE through the periodic passes
    assert {"h1", "h2"} <= set(dropped)
    with Monitors(cloud, "mon-r") as seen:
        ping(cloud, "a1", A2)
    assert len(echoes(seen["mon-r"], src=A1)) == 5
