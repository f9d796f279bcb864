"""Tap services, tap flows and tap mirrors: attributes, validation, updates, deletes."""
from __future__ import annotations

import pytest

from .conftest import ALICE, error_of


def test_tap_service_crud(alice, admin, alice_ports):
    svc = alice.tap_service(alice_ports["mon"], name="ts", description="d")
    assert svc["project_id"] == svc["tenant_id"] == ALICE
    assert svc["port_id"] == alice_ports["mon"]["id"]
    assert (svc["status"], svc["status_reason"]) == ("DOWN", "")
    assert "session_id" not in svc  # admins only
    assert alice.get(f"/v2.0/taas/tap_services/{svc['id']}").json()["tap_service"] == svc
    as_admin = admin.get(f"/v2.0/taas/tap_services/{svc['id']}").json()["tap_service"]
    assert as_admin["session_id"] == 10000
    r = alice.put(f"/v2.0/taas/tap_services/{svc['id']}",
                  {"tap_service": {"name": "ts2", "description": "d2"}})
    assert r.status_code == 200
    assert r.json()["tap_service"] == {**svc, "name": "ts2", "description": "d2"}
    r = alice.delete(f"/v2.0/taas/tap_services/{svc['id']}")
    assert r.status_code == 204 and r.content == b""
    r = alice.get(f"/v2.0/taas/tap_services/{svc['id']}")
    assert r.status_code == 404 and error_of(r)["type"] == "TapServiceNotFound"
    assert alice.delete(f"/v2.0/taas/tap_services/{svc['id']}").status_code == 404


@pytest.mark.parametrize("attr,value", [("port_id", "x"), ("status", "ACTIVE"),
                                        ("session_id", 5), ("project_id", "p"),
                                        ("tenant_id", "p"), ("id", "x")])
def test_tap_service_read_only_attributes(alice, alice_ports, attr, value):
    svc = alice.tap_service(alice_ports["mon"])
    r = alice.put(f"/v2.0/taas/tap_services/{svc['id']}", {"tap_service": {attr: value}})
    assert r.status_code == 400
    assert f"Cannot update read-only attribute(s) {attr}" in error_of(r)["message"]


def test_tap_service_validation(alice, alice_ports):
    port = alice_ports["mon"]["id"]
    for body, needle in (({}, "port_id"), ({"port_id": 5}, "port_id"),
                         ({"port_id": port, "name": "x" * 256}, "name"),
                         ({"port_id": port, "description": "x" * 1025}, "description"),
                         ({"port_id": port, "colour": "red"}, "colour"),
                         ({"port_id": port, "status": "ACTIVE"}, "status")):
        r = alice.post("/v2.0/taas/tap_services", {"tap_service": body})
        assert r.status_code == 400, body
        assert needle in error_of(r)["message"], (body, error_of(r))
    r = alice.post("/v2.0/taas/tap_services", {"tap_service": {"port_id": "nope"}})
    assert r.status_code == 404 and error_of(r)["type"] == "PortNotFound"


def test_deleting_tap_service_deletes_its_flows(alice, alice_ports):
    svc = alice.tap_service(alice_ports["mon"])
    flows = [alice.tap_flow(svc, alice_ports[p], d) for p, d in (("vm1", "IN"), ("vm2", "OUT"))]
    assert alice.delete(f"/v2.0/taas/tap_services/{svc['id']}").status_code == 204
    for flow in flows:
        assert alice.get(f"/v2.0/taas/tap_flows/{flow['id']}").status_code == 404
    assert alice.get("/v2.0/taas/tap_flows").json() == {"tap_flows": []}


def test_tap_flow_crud_and_attributes(alice, alice_ports):
    svc = alice.tap_service(alice_ports["mon"])
    flow = alice.tap_flow(svc, alice_ports["vm1"], "IN", name="f", vlan_filter="10,20-30")
    assert flow["tap_service_id"] == svc["id"]
    assert flow["source_port"] == alice_ports["vm1"]["id"]
    assert (flow["direction"], flow["vlan_filter"], flow["status"]) == ("IN", "10,20-30", "DOWN")
    assert flow["project_id"] == flow["tenant_id"] == ALICE and flow["status_reason"] == ""
    # two flows on one source port are independent
    second = alice.tap_flow(svc, alice_ports["vm1"], "OUT")
    assert second["vlan_filter"] is None
    assert alice.delete(f"/v2.0/taas/tap_flows/{second['id']}").status_code == 204
    assert alice.get(f"/v2.0/taas/tap_flows/{flow['id']}").status_code == 200
    r = alice.put(f"/v2.0/taas/tap_flows/{flow['id']}", {"tap_flow": {"description": "x"}})
    assert r.json()["tap_flow"] == {**flow, "description": "x"}
    for attr, value in (("direction", "OUT"), ("vlan_filter", "1"), ("source_port", "x"),
                        ("tap_service_id", "x")):
        r = alice.put(f"/v2.0/taas/tap_flows/{flow['id']}", {"tap_flow": {attr: value}})
        assert r.status_code == 400 and attr in error_of(r)["message"]


@pytest.mark.parametrize("vlan_filter", ["189,279,999-1008", "0", "4095", "1-4095", "7,7",
                                         "0010"])
def test_vlan_filter_accepted(alice, alice_ports, vlan_filter):
    svc = alice.tap_service(alice_ports["mon"])
    flow = alice.tap_flow(svc, alice_ports["vm1"], vlan_filter=vlan_filter)
    assert flow["vlan_filter"] == vlan_filter


@pytest.mark.parametrize("vlan_filter", ["", "4096", "10-4096", "20-10", "1,,2", "a", "1-2-3",
                                         " 1", "1,", "-5", 5])
def test_vlan_filter_rejected(alice, alice_ports, vlan_filter):
    svc = alice.tap_service(alice_ports["mon"])
    r = alice.post("/v2.0/taas/tap_flows", {"tap_flow": {
        "tap_service_id": svc["id"], "source_port": alice_ports["vm1"]["id"],
        "direction": "IN", "vlan_filter": vlan_filter}})
    assert r.status_code == 400, vlan_filter
    assert "vlan_filter" in error_of(r)["message"]


def test_tap_flow_validation(alice, alice_ports):
    svc = alice.tap_service(alice_ports["mon"])
    base = {"tap_service_id": svc["id"], "source_port": alice_ports["vm1"]["id"],
            "direction": "IN"}
    for change, status, needle in (({"direction": "SIDEWAYS"}, 400, "direction"),
                                   ({"direction": "in"}, 400, "direction"),
                                   ({"direction": None}, 400, "direction"),
                                   ({"tap_service_id": "nope"}, 404, "TapServiceNotFound"),
                                   ({"source_port": "nope"}, 404, "PortNotFound")):
        r = alice.post("/v2.0/taas/tap_flows", {"tap_flow": {**base, **change}})
        assert r.status_code == status, change
        error = error_of(r)
        assert needle in error["message"] or needle == error["type"], (change, error)
    missing = {k: v for k, v in base.items() if k != "direction"}
    r = alice.post("/v2.0/taas/tap_flows", {"tap_flow": missing})
    assert r.status_code == 400 and "direction" in error_of(r)["message"]
    # the service's own port cannot be one of its sources
    r = alice.post("/v2.0/taas/tap_flows", {"tap_flow": {**base,
                                                         "source_port": alice_ports["mon"]["id"]}})
    assert r.status_code == 400


def test_tap_mirror_crud(alice, alice_ports):
    mirror = alice.tap_mirror(alice_ports["vm1"], {"IN": "101", "OUT": 102},
                              remote_ip="2001:DB8::1", mirror_type="erspanv1", name="m")
    assert mirror["directions"] == {"IN": 101, "OUT": 102}
    assert mirror["remote_ip"] == "2001:db8::1" and mirror["mirror_type"] == "erspanv1"
    assert mirror["status"] == "DOWN" and mirror["project_id"] == ALICE
    assert alice.get(f"/v2.0/taas/tap_mirrors/{mirror['id']}").json()["tap_mirror"] == mirror
    r = alice.put(f"/v2.0/taas/tap_mirrors/{mirror['id']}", {"tap_mirror": {"name": "m2"}})
    assert r.json()["tap_mirror"] == {**mirror, "name": "m2"}
    for attr, value in (("directions", {"IN": 1}), ("remote_ip", "192.0.2.9"),
                        ("mirror_type", "gre"), ("port_id", "x")):
        r = alice.put(f"/v2.0/taas/tap_mirrors/{mirror['id']}", {"tap_mirror": {attr: value}})
        assert r.status_code == 400 and attr in error_of(r)["message"]
    assert alice.delete(f"/v2.0/taas/tap_mirrors/{mirror['id']}").status_code == 204
    assert alice.get(f"/v2.0/taas/tap_mirrors/{mirror['id']}").status_code == 404


@pytest.mark.parametrize("directions,mirror_type", [
    ({"something": 1}, "gre"), ({}, "gre"), ({"IN": -1}, "gre"), ({"IN": "x"}, "gre"),
    ({"IN": 1.5}, "gre"), ({"IN": True}, "gre"), ({"IN": 2**32}, "gre"),
    ({"IN": 1024}, "erspanv1"), ({"IN": 5, "BOTH": 6}, "gre"), ({"IN": " 5"}, "gre"),
    ({"IN": 1}, "erspanv2"), ("IN=1", "gre")])
def test_tap_mirror_invalid_directions_and_types(alice, alice_ports, directions, mirror_type):
    r = alice.post("/v2.0/taas/tap_mirrors", {"tap_mirror": {
        "port_id": alice_ports["vm1"]["id"], "directions": directions,
        "remote_ip": "192.0.2.1", "mirror_type": mirror_type}})
    assert r.status_code == 400, r.text
    message = error_of(r)["message"]
    assert "directions" in message or "mirror_type" in message, message


def test_one_tunnel_id_for_two_directions_is_a_conflict(alice, alice_ports):
    r = alice.post("/v2.0/taas/tap_mirrors", {"tap_mirror": {
        "port_id": alice_ports["vm1"]["id"], "directions": {"IN": 5, "OUT": "5"},
        "remote_ip": "192.0.2.1", "mirror_type": "gre"}})
    assert r.status_code == 409 and error_of(r)["type"] == "TapMirrorTunnelConflict"


def test_tap_mirror_limits_and_both(alice, alice_ports):
    assert alice.tap_mirror(alice_ports["vm1"], {"IN": 2**32 - 1})["directions"]["IN"] == 2**32 - 1
    assert alice.tap_mirror(alice_ports["vm1"], {"OUT": 1023}, mirror_type="erspanv1")
    assert alice.tap_mirror(alice_ports["vm1"], {"BOTH": 0})["directions"] == {"BOTH": 0}


@pytest.mark.parametrize("remote_ip", ["192.101.0.420", "", "::g", "host.example", 5])
def test_tap_mirror_invalid_remote_ip(alice, alice_ports, remote_ip):
    r = alice.post("/v2.0/taas/tap_mirrors", {"tap_mirror": {
        "port_id": alice_ports["vm1"]["id"], "directions": {"IN": 1},
        "remote_ip": remote_ip, "mirror_type": "gre"}})
    assert r.status_code == 400 and "remote_ip" in error_of(r)["message"]


def test_tunnel_id_conflicts_across_the_whole_cloud(alice, bob, bob_port, alice_ports):
    alice.tap_mirror(alice_ports["vm1"], {"IN": 500})
    r = bob.post("/v2.0/taas/tap_mirrors", {"tap_mirror": {
        "port_id": bob_port["id"], "directions": {"OUT": "500"}, "remote_ip": "192.0.2.2",
        "mirror_type": "erspanv1"}})
    assert r.status_code == 409
    error = error_of(r)
    assert error["type"] == "TapMirrorTunnelConflict" and "500" in error["message"]
    assert ALICE not in error["message"]  # says which id, never whose
    assert bob.tap_mirror(bob_port, {"OUT": 501})


def test_status_attributes_are_read_only_on_create(alice, alice_ports):
    r = alice.post("/v2.0/taas/tap_mirrors", {"tap_mirror": {
        "port_id": alice_ports["vm1"]["id"], "directions": {"IN": 1}, "status": "ACTIVE",
        "remote_ip": "192.0.2.1", "mirror_type": "gre"}})
    assert r.status_code == 400 and "status" in error_of(r)["message"]
