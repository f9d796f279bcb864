"""One 3-host lab per module: connectivity, isolation, restart + reconcile, move."""
from __future__ import annotations

import time

import pytest

from taas.dataplane import layout as L
from taas.lab import probe
from taas.lab.lab import Lab
from taas.lab.registry import InMemoryRegistry

from .conftest import NOTHING, lab_name, leftovers, needs_lab

pytestmark = [pytest.mark.lab, needs_lab]
SHARED_MAC = "fa:16:3e:5a:5a:5a"


def spec(name):
    return {
        "name": name, "hosts": ["h1", "h2", "h3"], "projects": ["p1", "p2"],
        "networks": [
            {"name": "red", "project": "p1", "cidr": "10.1.0.0/24"},
            {"name": "blue", "project": "p2", "cidr": "10.1.0.0/24"},   # same subnet as red
            {"name": "shared", "project": "p1", "cidr": "10.9.0.0/24", "shared": True}],
        "vms": [
            {"name": "r1", "host": "h1", "ports": [{"network": "red", "ip": "10.1.0.11",
                                                    "mac": SHARED_MAC}]},
            {"name": "r2", "host": "h2", "ports": [{"network": "red", "ip": "10.1.0.12"}]},
            {"name": "r3", "host": "h3", "ports": [{"network": "red", "ip": "10.1.0.13"},
                                                   {"network": "shared", "ip": "10.9.0.13"}]},
            {"name": "r4", "host": "h1", "ports": [{"network": "red", "ip": "10.1.0.14"}]},
            # b1 has r2's address and b2 has r1's MAC, on another network: no conflict.
            {"name": "b1", "host": "h1", "ports": [{"network": "blue", "ip": "10.1.0.12"}]},
            {"name": "b2", "host": "h3", "project": "p2", "ports": [
                {"network": "blue", "ip": "10.1.0.21", "mac": SHARED_MAC},
                {"network": "shared", "ip": "10.9.0.21"}]}],
        "monitors": [{"name": "m1", "host": "h2", "ports": [{"network": "red",
                                                             "ip": "10.1.0.100"}]}],
    }


@pytest.fixture(scope="module")
def registry():
    return InMemoryRegistry(first_segmentation_id=100)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, registry):
    workdir = tmp_path_factory.mktemp("lab")
    name = lab_name("tl")
    lab = Lab.up(spec(name), workdir, registry=registry)
    yield lab
    lab.down()
    assert leftovers(name, workdir) == NOTHING


def assert_ping(lab, vm, ip, ok=True):
    result = lab.ping(vm, ip, count=2, timeout=1.0 if ok else 0.3)
    assert result.ok is ok, f"{vm} -> {ip}: {result}"


def test_segmentation_ids_come_from_the_registry(lab):
    assert sorted(n.segmentation_id for n in lab.networks.values()) == [100, 101, 102]
    assert all(p.id for vm in lab.vms.values() for p in vm.ports)


@pytest.mark.parametrize("src, dst", [("r1", "10.1.0.12"), ("r1", "10.1.0.13"),
                                      ("r2", "10.1.0.13"), ("r1", "10.1.0.14"),
                                      ("b1", "10.1.0.21"), ("r3", "10.9.0.21"),
                                      ("r2", "10.1.0.100")])
def test_ping_on_a_network(lab, src, dst):
    assert_ping(lab, src, dst)


@pytest.mark.parametrize("src, dst", [("b1", "10.1.0.11"), ("b1", "10.1.0.13"),
                                      ("r1", "10.1.0.21"), ("b2", "10.1.0.14")])
def test_networks_are_isolated(lab, src, dst):
    assert_ping(lab, src, dst, ok=False)


def test_same_address_on_two_networks_resolves_within_each(lab):
    assert_ping(lab, "r1", "10.1.0.12")      # r2 (red, h2), not b1 (blue, same host as r1)
    neigh = lab.exec("r1", "ip neigh show 10.1.0.12", check=True).stdout
    assert lab.port("r2").mac in neigh and lab.port("b1").mac not in neigh


def test_shared_mac_works_on_both_networks(lab):
    assert lab.port("r1").mac == lab.port("b2", "blue").mac
    assert_ping(lab, "r2", "10.1.0.11")
    assert_ping(lab, "b1", "10.1.0.21")


def test_full_mtu_crosses_hosts(lab):
    # 1400-byte IP packets (the VM MTU) plus VXLAN fit the 1500-byte underlay.
    result = probe.ping(lab.netns("r1"), "10.1.0.13", count=2, size=1400 - 28)
    assert result.ok, result


@pytest.mark.parametrize("src, dst", [("r1", "r2"), ("r1", "r4"), ("b2", "b1")])
def test_tcp_connects(lab, src, dst):
    assert lab.tcp(src, dst)


def test_tcp_across_networks_fails(lab):
    assert not lab.tcp("b1", "r1", "10.1.0.11", timeout=0.5)


def test_reconcile_is_a_no_op_when_nothing_changed(lab):
    results = lab.reconcile()
    assert not any(r.changed for host in results.values() for r in host.values())


def test_vswitchd_restart_then_reconcile_restores_connectivity(lab):
    lab.restart_vswitchd("h2")
    assert_ping(lab, "r1", "10.1.0.12", ok=False)        # flows and br-phy address are gone
    results = lab.reconcile("h2")
    assert results["h2"]["br-int"].added > 0
    # A restarted vswitchd relearns its routes from the kernel in the background: the
    # first packets across the tunnel may be lost meanwhile. Once one echo comes back,
    # every later one must.
    deadline = time.monotonic() + 10
    while not lab.ping("r1", "10.1.0.12", count=1, timeout=1.0).ok:
        assert time.monotonic() < deadline, "no connectivity 10 s after reconcile"
    assert_ping(lab, "r1", "10.1.0.12")
    assert lab.tcp("r2", "r1")


def test_move_replugs_and_rebinds(lab, registry):
    old_ofports = lab.ovsdb("h2").ofports_by_iface_id(L.BR_INT)
    port = lab.port("r2")
    assert port.id in old_ofports
    lab.move("r2", "h3")
    try:
        assert lab.vm("r2").host == "h3"
        assert registry.ports[port.id]["binding:host_id"] == "h3"
        assert port.id not in lab.ovsdb("h2").ofports_by_iface_id(L.BR_INT)
        assert lab.ovsdb("h3").ofports_by_iface_id(L.BR_INT)[port.id] >= L.FIRST_VM_OFPORT
        assert_ping(lab, "r1", "10.1.0.12")            # h1 -> h3 now
        assert_ping(lab, "r3", "10.1.0.12")            # same host now
        assert_ping(lab, "m1", "10.1.0.12")            # h2 -> h3
        assert lab.tcp("r1", "r2")
    finally:
        lab.move("r2", "h2")
    assert_ping(lab, "r1", "10.1.0.12")


def test_status_and_exec(lab):
    status = lab.status()
    assert set(status["hosts"]) == {"h1", "h2", "h3"}
    assert all(h["ovs-vswitchd"] and h["ovsdb-server"] for h in status["hosts"].values())
    assert status["vms"]["m1"]["monitor"] is True
    out = lab.exec("r3", ["ip", "-br", "addr"], check=True).stdout
    assert "10.1.0.13/24" in out and "10.9.0.13/24" in out
    ethtool = lab.exec("r3", "ethtool -k eth0 | grep tx-checksumming").stdout
    assert "off" in ethtool
