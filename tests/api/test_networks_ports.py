"""Networks and ports: CRUD, VNIs, MACs, visibility, bindings and cascades."""
from __future__ import annotations

import re

from .conftest import ALICE, BOB, error_of


def test_network_crud_and_segmentation_ids(admin, alice):
    net = alice.network(name="n1", description="d")
    assert net["project_id"] == net["tenant_id"] == ALICE
    assert net["status"] == "ACTIVE" and net["shared"] is False and net["admin_state_up"]
    assert net["segmentation_id"] == net["provider:segmentation_id"] == 1
    assert net["provider:network_type"] == "vxlan" and net["subnets"] == []
    second = alice.network(name="n2")
    assert second["segmentation_id"] == 2
    assert alice.get(f"/v2.0/networks/{net['id']}").json()["network"] == net
    r = alice.put(f"/v2.0/networks/{net['id']}", {"network": {"name": "n1b",
                                                             "admin_state_up": False}})
    assert r.status_code == 200
    assert r.json()["network"]["name"] == "n1b" and not r.json()["network"]["admin_state_up"]
    assert alice.delete(f"/v2.0/networks/{net['id']}").status_code == 204
    # the VNI is free again: the next network takes the lowest one
    assert alice.network(name="n3")["segmentation_id"] == 1


def test_segmentation_ids_exhausted_is_409(make_app):
    from fastapi.testclient import TestClient
    from .conftest import Api
    app, _ = make_app(segmentation_id_range=(5, 6))
    with TestClient(app) as c:
        api = Api(c, "alice-token")
        assert {api.network()["segmentation_id"] for _ in range(2)} == {5, 6}
        r = api.post("/v2.0/networks", {"network": {"name": "x"}})
        assert r.status_code == 409 and error_of(r)["type"] == "NoNetworkAvailable"


def test_network_visibility_and_sharing(admin, alice, bob):
    private = alice.network(name="private")
    shared = admin.network(name="shared", shared=True)
    assert bob.get(f"/v2.0/networks/{private['id']}").status_code == 404
    assert bob.get(f"/v2.0/networks/{shared['id']}").status_code == 200
    names = {n["name"] for n in bob.get("/v2.0/networks").json()["networks"]}
    assert names == {"shared"}
    # only admins share
    r = alice.post("/v2.0/networks", {"network": {"name": "s", "shared": True}})
    assert r.status_code == 403
    r = alice.put(f"/v2.0/networks/{private['id']}", {"network": {"shared": True}})
    assert r.status_code == 403
    # a shared network of someone else is visible but not changeable
    r = bob.put(f"/v2.0/networks/{shared['id']}", {"network": {"name": "mine"}})
    assert r.status_code == 403
    assert bob.delete(f"/v2.0/networks/{private['id']}").status_code == 404


def test_unsharing_a_network_used_by_others_is_refused(admin, bob):
    shared = admin.network(name="shared", shared=True)
    bob.port(shared)
    r = admin.put(f"/v2.0/networks/{shared['id']}", {"network": {"shared": False}})
    assert r.status_code == 409 and error_of(r)["type"] == "InvalidSharedSetting"


def test_network_in_use_cannot_be_deleted(alice):
    net = alice.network()
    port = alice.port(net)
    r = alice.delete(f"/v2.0/networks/{net['id']}")
    assert r.status_code == 409 and error_of(r)["type"] == "NetworkInUse"
    assert alice.delete(f"/v2.0/ports/{port['id']}").status_code == 204
    assert alice.delete(f"/v2.0/networks/{net['id']}").status_code == 204


def test_port_defaults_and_generated_mac(alice):
    net = alice.network()
    port = alice.port(net, name="p", fixed_ips=[{"ip_address": "10.0.0.5"},
                                                {"subnet_id": "s1", "ip_address": "2001:db8::1"}])
    assert re.fullmatch(r"fa:16:3e(:[0-9a-f]{2}){3}", port["mac_address"])
    assert port["project_id"] == port["tenant_id"] == ALICE
    assert port["fixed_ips"] == [{"subnet_id": None, "ip_address": "10.0.0.5"},
                                 {"subnet_id": "s1", "ip_address": "2001:db8::1"}]
    assert port["status"] == "DOWN" and port["binding:vif_type"] == "unbound"
    assert port["port_security_enabled"] is True and port["tags"] == []
    assert "binding:host_id" not in port  # admin-only attribute
    assert port["device_id"] == "" and port["device_owner"] == ""


def test_port_mac_validation_and_uniqueness(alice):
    net = alice.network()
    p = alice.port(net, mac_address="FA:16:3E:00:00:01")
    assert p["mac_address"] == "fa:16:3e:00:00:01"
    r = alice.post("/v2.0/ports", {"port": {"network_id": net["id"],
                                            "mac_address": "fa:16:3e:00:00:01"}})
    assert r.status_code == 409 and error_of(r)["type"] == "MacAddressInUse"
    for bad in ("zz:16:3e:00:00:01", "01:00:5e:00:00:01", "00:00:00:00:00:00", "fa:16:3e"):
        r = alice.post("/v2.0/ports", {"port": {"network_id": net["id"], "mac_address": bad}})
        assert r.status_code == 400, bad
        assert "mac_address" in error_of(r)["message"]
    r = alice.post("/v2.0/ports", {"port": {"network_id": net["id"],
                                            "fixed_ips": [{"ip_address": "10.0.0.300"}]}})
    assert r.status_code == 400


def test_port_binding_is_admin_only_and_drives_status(admin, alice, notifier):
    net = alice.network()
    r = alice.post("/v2.0/ports", {"port": {"network_id": net["id"], "binding:host_id": "h"}})
    assert r.status_code == 403
    port = alice.port(net)
    r = alice.put(f"/v2.0/ports/{port['id']}", {"port": {"binding:host_id": "h"}})
    assert r.status_code == 403
    r = admin.put(f"/v2.0/ports/{port['id']}", {"port": {"binding:host_id": "host-9"}})
    assert r.status_code == 200
    bound = r.json()["port"]
    assert bound["binding:host_id"] == "host-9" and bound["status"] == "ACTIVE"
    assert bound["binding:vif_type"] == "ovs"
    assert alice.get(f"/v2.0/ports/{port['id']}").json()["port"]["status"] == "ACTIVE"


def test_port_update_of_allowed_and_read_only_attributes(alice):
    port = alice.port(alice.network())
    r = alice.put(f"/v2.0/ports/{port['id']}", {"port": {
        "name": "n", "description": "d", "admin_state_up": False, "device_id": "vm",
        "device_owner": "compute:nova"}})
    assert r.status_code == 200
    got = r.json()["port"]
    assert (got["name"], got["description"], got["admin_state_up"], got["device_id"],
            got["device_owner"]) == ("n", "d", False, "vm", "compute:nova")
    for attr, value in (("mac_address", "fa:16:3e:00:00:09"), ("network_id", "x"),
                        ("project_id", BOB), ("status", "ACTIVE"), ("id", "x")):
        r = alice.put(f"/v2.0/ports/{port['id']}", {"port": {attr: value}})
        assert r.status_code == 400, attr
        assert "read-only" in error_of(r)["message"] and attr in error_of(r)["message"]


def test_port_only_on_own_or_shared_networks(admin, alice, bob):
    alice_net = alice.network()
    r = bob.post("/v2.0/ports", {"port": {"network_id": alice_net["id"]}})
    assert r.status_code == 404 and error_of(r)["type"] == "NetworkNotFound"
    shared = admin.network(shared=True)
    assert bob.port(shared)["project_id"] == BOB
    # an admin creates ports anywhere, for anyone
    assert admin.port(alice_net, project_id=BOB)["project_id"] == BOB
    # a tenant cannot create for another project
    r = alice.post("/v2.0/ports", {"port": {"network_id": alice_net["id"], "project_id": BOB}})
    assert r.status_code == 403


def test_port_visibility_owner_and_network_owner(admin, alice, bob):
    shared = admin.network(shared=True, project_id=ALICE)
    bobs = bob.port(shared, name="bobs")
    # alice owns the network: she sees bob's port on it; bob sees his own port
    assert alice.get(f"/v2.0/ports/{bobs['id']}").status_code == 200
    assert bob.get(f"/v2.0/ports/{bobs['id']}").status_code == 200
    alices = alice.port(shared, name="alices")
    assert bob.get(f"/v2.0/ports/{alices['id']}").status_code == 404
    assert [p["name"] for p in bob.get("/v2.0/ports").json()["ports"]] == ["bobs"]
    assert bob.delete(f"/v2.0/ports/{alices['id']}").status_code == 404


def test_port_move_notifies_old_new_and_sending_hosts(admin, alice, alice_ports, notifier):
    service = alice.tap_service(alice_ports["mon"])          # mon on host-2
    alice.tap_flow(service, alice_ports["vm1"])               # vm1 on host-1 sends to it
    notifier.clear()
    r = admin.put(f"/v2.0/ports/{alice_ports['mon']['id']}",
                  {"port": {"binding:host_id": "host-7"}})
    assert r.status_code == 200
    assert notifier.calls == [{"host-2", "host-7", "host-1"}]
    notifier.clear()
    admin.put(f"/v2.0/ports/{alice_ports['mon']['id']}", {"port": {"name": "renamed"}})
    assert notifier.calls == []  # nothing a host needs changed


def test_deleting_a_port_cascades_to_taas_resources(admin, alice, alice_ports, notifier):
    mon, vm1, vm2 = alice_ports["mon"], alice_ports["vm1"], alice_ports["vm2"]
    service = alice.tap_service(mon)
    flow_into = alice.tap_flow(service, vm1)
    other_service = alice.tap_service(vm1)
    flow_from_mon = alice.tap_flow(other_service, mon, "IN")
    mirror = alice.tap_mirror(mon, {"OUT": 77})
    keeper = alice.tap_mirror(vm2, {"IN": 78})
    notifier.clear()
    assert admin.delete(f"/v2.0/ports/{mon['id']}").status_code == 204
    for path in (f"taas/tap_services/{service['id']}", f"taas/tap_flows/{flow_into['id']}",
                 f"taas/tap_flows/{flow_from_mon['id']}", f"taas/tap_mirrors/{mirror['id']}"):
        assert alice.get(f"/v2.0/{path}").status_code == 404, path
    assert alice.get(f"/v2.0/taas/tap_services/{other_service['id']}").status_code == 200
    assert alice.get(f"/v2.0/taas/tap_mirrors/{keeper['id']}").status_code == 200
    assert notifier.calls == [{"host-1", "host-2"}]
    # the freed tunnel id is reusable
    alice.tap_mirror(vm2, {"OUT": 77})
