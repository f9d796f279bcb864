"""Two tenants and an admin: who may monitor which port, and who sees what."""
from __future__ import annotations

import pytest

from .conftest import ALICE, BOB, error_of


def _post(api, collection, body):
    key = collection[:-1]
    return api.post(f"/v2.0/taas/{collection}", {key: body})


def test_tap_service_on_another_tenants_port_is_not_found(bob, alice_ports):
    r = _post(bob, "tap_services", {"port_id": alice_ports["mon"]["id"]})
    assert r.status_code == 404 and error_of(r)["type"] == "PortNotFound"


def test_tap_flow_from_another_tenants_port_is_not_found(alice, alice_ports, bob_port):
    svc = alice.tap_service(alice_ports["mon"])
    r = _post(alice, "tap_flows", {"tap_service_id": svc["id"], "source_port": bob_port["id"],
                                   "direction": "BOTH"})
    assert r.status_code == 404 and error_of(r)["type"] == "PortNotFound"


def test_tap_flow_into_another_tenants_tap_service_is_not_found(alice, bob, alice_ports,
                                                                bob_port):
    svc = alice.tap_service(alice_ports["mon"])
    r = _post(bob, "tap_flows", {"tap_service_id": svc["id"], "source_port": bob_port["id"],
                                 "direction": "IN"})
    assert r.status_code == 404 and error_of(r)["type"] == "TapServiceNotFound"


def test_tap_mirror_of_another_tenants_port_is_not_found(bob, alice_ports):
    r = _post(bob, "tap_mirrors", {"port_id": alice_ports["vm1"]["id"], "directions": {"IN": 1},
                                   "remote_ip": "192.0.2.1", "mirror_type": "gre"})
    assert r.status_code == 404 and error_of(r)["type"] == "PortNotFound"


@pytest.fixture
def shared_topology(admin, alice, bob):
    """A shared network owned by the admin's project, with one port each for alice and bob,
    plus bob's own network (shared) on which alice has a port."""
    shared = admin.network(name="shared", shared=True)
    bobs_shared = admin.network(name="bobs-shared", shared=True, project_id=BOB)
    return {"alice_on_shared": alice.port(shared, name="a"),
            "bob_on_shared": bob.port(shared, name="b"),
            "alice_on_bobs": alice.port(bobs_shared, name="a2"),
            "bob_on_bobs": bob.port(bobs_shared, name="b2")}


def test_port_another_tenant_created_on_a_shared_network(alice, shared_topology):
    # invisible to alice: 404, whatever resource she tries
    hidden = shared_topology["bob_on_shared"]["id"]
    svc = alice.tap_service(shared_topology["alice_on_shared"])
    for collection, body in (
            ("tap_services", {"port_id": hidden}),
            ("tap_flows", {"tap_service_id": svc["id"], "source_port": hidden,
                           "direction": "IN"}),
            ("tap_mirrors", {"port_id": hidden, "directions": {"IN": 9},
                             "remote_ip": "192.0.2.1", "mirror_type": "gre"})):
        r = _post(alice, collection, body)
        assert r.status_code == 404 and error_of(r)["type"] == "PortNotFound", collection


def test_own_port_on_shared_network_is_monitorable(alice, shared_topology):
    svc = alice.tap_service(shared_topology["alice_on_shared"])
    assert alice.tap_flow(svc, shared_topology["alice_on_bobs"])


def test_shared_network_owner_may_not_tap_other_tenants_ports_on_it(bob, shared_topology):
    # bob owns bobs-shared and sees alice's port on it, but it is alice's to monitor.
    svc = bob.tap_service(shared_topology["bob_on_bobs"])
    r = _post(bob, "tap_flows", {"tap_service_id": svc["id"], "direction": "BOTH",
                                 "source_port": shared_topology["alice_on_bobs"]["id"]})
    assert r.status_code == 403 and error_of(r)["type"] == "PortDoesNotBelongToTenant"


def test_own_port_on_own_network_created_by_admin_is_monitorable(admin, alice):
    net = admin.network(name="alice-private", project_id=ALICE)
    port = admin.port(net, project_id=BOB)       # on alice's unshared network: hers to tap
    assert alice.tap_service(port)


def test_visible_but_not_monitorable_port_is_403(admin, alice, bob):
    # A port alice owns on a network of bob's that is NOT shared (an admin made it):
    # she sees it, but may not monitor it.
    bob_net = admin.network(name="bob-private", project_id=BOB)
    port = admin.port(bob_net, project_id=ALICE)
    assert alice.get(f"/v2.0/ports/{port['id']}").status_code == 200
    r = _post(alice, "tap_services", {"port_id": port["id"]})
    assert r.status_code == 403 and error_of(r)["type"] == "PortDoesNotBelongToTenant"


def test_another_projects_resources_are_invisible(alice, bob, alice_ports):
    svc = alice.tap_service(alice_ports["mon"], name="secret")
    flow = alice.tap_flow(svc, alice_ports["vm1"])
    mirror = alice.tap_mirror(alice_ports["vm2"], {"IN": 31})
    for collection, item in (("tap_services", svc), ("tap_flows", flow),
                             ("tap_mirrors", mirror)):
        key = collection[:-1]
        path = f"/v2.0/taas/{collection}/{item['id']}"
        assert bob.get(path).status_code == 404
        assert bob.put(path, {key: {"name": "mine"}}).status_code == 404
        assert bob.delete(path).status_code == 404
        assert bob.get(f"/v2.0/taas/{collection}").json() == {collection: []}
        assert bob.get(f"/v2.0/taas/{collection}?name=secret").json() == {collection: []}
        assert alice.get(path).json()[key] == item  # untouched
    for path in (f"/v2.0/ports/{alice_ports['vm1']['id']}",):
        assert bob.get(path).status_code == 404


def test_tenant_cannot_create_for_another_project(alice, alice_ports):
    for owner_key in ("project_id", "tenant_id"):
        r = _post(alice, "tap_services", {"port_id": alice_ports["mon"]["id"], owner_key: BOB})
        assert r.status_code == 403, owner_key
    r = _post(alice, "tap_services", {"port_id": alice_ports["mon"]["id"],
                                      "project_id": ALICE, "tenant_id": BOB})
    assert r.status_code == 400
    assert alice.tap_service(alice_ports["mon"], project_id=ALICE)["project_id"] == ALICE


def test_admin_sees_and_does_everything(admin, alice, alice_ports, bob_port):
    svc = alice.tap_service(alice_ports["mon"])
    # admin monitors any port, for any project
    assert admin.tap_flow(svc, bob_port)["project_id"] == ALICE  # joins the service's project
    bob_svc = admin.tap_service(bob_port, project_id=BOB)
    assert bob_svc["project_id"] == BOB and bob_svc["session_id"]
    assert admin.tap_mirror(alice_ports["vm1"], {"IN": 1}, project_id=BOB)["project_id"] == BOB
    # but a flow and its service always share a project
    r = _post(admin, "tap_flows", {"tap_service_id": svc["id"], "direction": "IN",
                                   "source_port": bob_port["id"], "project_id": BOB})
    assert r.status_code == 403 and error_of(r)["type"] == "TapServiceNotBelongToTenant"
    listed = {s["id"] for s in admin.get("/v2.0/taas/tap_services").json()["tap_services"]}
    assert {svc["id"], bob_svc["id"]} <= listed
    r = admin.put(f"/v2.0/taas/tap_services/{svc['id']}", {"tap_service": {"name": "adm"}})
    assert r.status_code == 200
    assert admin.delete(f"/v2.0/taas/tap_services/{svc['id']}").status_code == 204
