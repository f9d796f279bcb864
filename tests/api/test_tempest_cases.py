"""The reference project's tempest API tests, as behaviour our API keeps."""
from __future__ import annotations

import uuid

import pytest

from .conftest import error_of


@pytest.fixture
def ports(alice, alice_net):
    """A fresh pair of ports per test, as tempest creates (monitor, source)."""
    return alice.port(alice_net, name="monitor"), alice.port(alice_net, name="source")


def test_create_tap_service_and_flow(alice, ports):
    service = alice.tap_service(ports[0], name="ts")
    flow = alice.tap_flow(service, ports[1], "BOTH", name="tf")
    assert flow["tap_service_id"] == service["id"] and flow["direction"] == "BOTH"
    listed = alice.get("/v2.0/taas/tap_flows").json()["tap_flows"]
    assert flow["id"] in {f["id"] for f in listed}


def test_create_tap_flow_with_vlan_filter(alice, ports):
    service = alice.tap_service(ports[0])
    flow = alice.tap_flow(service, ports[1], "BOTH", vlan_filter="189,279,999-1008")
    assert flow["vlan_filter"] == "189,279,999-1008"
    shown = alice.get(f"/v2.0/taas/tap_flows/{flow['id']}").json()["tap_flow"]
    assert shown["vlan_filter"] == "189,279,999-1008"


def test_delete_tap_resources_after_deleting_the_service_port(alice, ports):
    service = alice.tap_service(ports[0])
    flow = alice.tap_flow(service, ports[1])
    assert alice.delete(f"/v2.0/ports/{ports[0]['id']}").status_code == 204
    assert alice.delete(f"/v2.0/taas/tap_services/{service['id']}").status_code == 404
    assert alice.delete(f"/v2.0/taas/tap_flows/{flow['id']}").status_code == 404


def test_delete_tap_resources_after_deleting_the_source_port(alice, ports):
    service = alice.tap_service(ports[0])
    flow = alice.tap_flow(service, ports[1])
    assert alice.delete(f"/v2.0/ports/{ports[1]['id']}").status_code == 204
    assert alice.get(f"/v2.0/taas/tap_flows/{flow['id']}").status_code == 404
    assert alice.delete(f"/v2.0/taas/tap_services/{service['id']}").status_code == 204


def test_update_tap_service_and_flow_descriptions(alice, ports):
    service = alice.tap_service(ports[0], description="old")
    flow = alice.tap_flow(service, ports[1], description="old")
    r = alice.put(f"/v2.0/taas/tap_services/{service['id']}",
                  {"tap_service": {"description": "new"}})
    assert r.status_code == 200 and r.json()["tap_service"]["description"] == "new"
    r = alice.put(f"/v2.0/taas/tap_flows/{flow['id']}", {"tap_flow": {"description": "new"}})
    assert r.status_code == 200 and r.json()["tap_flow"]["description"] == "new"


def test_tap_mirror_gre_in(alice, ports):
    mirror = alice.tap_mirror(ports[1], {"IN": "99"}, remote_ip="192.101.0.10",
                              mirror_type="gre", name="m1")
    assert mirror["directions"] == {"IN": 99} and mirror["mirror_type"] == "gre"


def test_tap_mirror_erspan_in_out_list_show_update(alice, ports):
    mirror = alice.tap_mirror(ports[1], {"IN": "101", "OUT": "102"}, remote_ip="192.101.0.11",
                              mirror_type="erspanv1", name="m2")
    listed = alice.get("/v2.0/taas/tap_mirrors").json()["tap_mirrors"]
    assert mirror["id"] in {m["id"] for m in listed}
    shown = alice.get(f"/v2.0/taas/tap_mirrors/{mirror['id']}").json()["tap_mirror"]
    assert shown == mirror
    r = alice.put(f"/v2.0/taas/tap_mirrors/{mirror['id']}",
                  {"tap_mirror": {"description": "updated"}})
    assert r.status_code == 200 and r.json()["tap_mirror"]["description"] == "updated"


@pytest.mark.parametrize("change", [{"directions": {"something": "101"}},
                                    {"mirror_type": "erspanv2"},
                                    {"remote_ip": "192.101.0.420"}])
def test_tap_mirror_negative_cases(alice, ports, change):
    body = {"port_id": ports[1]["id"], "directions": {"IN": "101"},
            "remote_ip": "192.101.0.10", "mirror_type": "gre", **change}
    r = alice.post("/v2.0/taas/tap_mirrors", {"tap_mirror": body})
    assert r.status_code == 400
    error_of(r)


def test_tap_mirror_tunnel_id_conflict(alice, ports, alice_net):
    alice.tap_mirror(ports[1], {"IN": "101"})
    other = alice.port(alice_net)
    r = alice.post("/v2.0/taas/tap_mirrors", {"tap_mirror": {
        "port_id": other["id"], "directions": {"IN": "101"}, "remote_ip": "192.101.0.12",
        "mirror_type": "gre"}})
    assert r.status_code == 409 and error_of(r)["type"] == "TapMirrorTunnelConflict"


def test_tap_mirror_non_existing_port(alice):
    r = alice.post("/v2.0/taas/tap_mirrors", {"tap_mirror": {
        "port_id": str(uuid.uuid4()), "directions": {"IN": "101"},
        "remote_ip": "192.101.0.12", "mirror_type": "gre"}})
    assert r.status_code == 404 and error_of(r)["type"] == "PortNotFound"


def test_second_tap_mirror_on_the_same_port_with_new_ids(alice, ports):
    alice.tap_mirror(ports[1], {"IN": "101", "OUT": "102"})
    second = alice.tap_mirror(ports[1], {"IN": "103", "OUT": "104"})
    assert second["directions"] == {"IN": 103, "OUT": 104}
