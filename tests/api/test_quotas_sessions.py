"""Quotas (API and enforcement) and mirror-session id allocation."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from .conftest import ALICE, BOB, Api, error_of


def test_quota_defaults_overrides_and_reset(admin, alice, bob):
    defaults = {"tap_service": 50, "tap_flow": 500, "tap_mirror": 50}
    assert alice.get(f"/v2.0/quotas/{ALICE}").json() == {"quota": defaults}
    assert admin.get("/v2.0/quotas").json() == {"quotas": []}
    r = admin.put(f"/v2.0/quotas/{ALICE}", {"quota": {"tap_service": 2, "tap_mirror": -1}})
    assert r.status_code == 200
    assert r.json() == {"quota": {**defaults, "tap_service": 2, "tap_mirror": -1}}
    assert admin.get("/v2.0/quotas").json() == {"quotas": [{
        "project_id": ALICE, "tenant_id": ALICE, "tap_service": 2, "tap_flow": 500,
        "tap_mirror": -1}]}
    detail = alice.get(f"/v2.0/quotas/{ALICE}/details").json()["quota"]
    assert detail["tap_service"] == {"limit": 2, "used": 0, "reserved": 0}
    assert admin.delete(f"/v2.0/quotas/{ALICE}").status_code == 204
    assert alice.get(f"/v2.0/quotas/{ALICE}").json() == {"quota": defaults}


def test_quota_api_permissions(alice, bob):
    assert alice.get(f"/v2.0/quotas/{BOB}").status_code == 403
    assert alice.get("/v2.0/quotas").status_code == 403
    r = alice.put(f"/v2.0/quotas/{ALICE}", {"quota": {"tap_service": 1000}})
    assert r.status_code == 403 and error_of(r)
    assert alice.delete(f"/v2.0/quotas/{ALICE}").status_code == 403


@pytest.mark.parametrize("body", [{"quota": {"tap_service": -2}}, {"quota": {"ports": 5}},
                                  {"quota": {"tap_flow": "many"}}, {"tap_flow": 5},
                                  {"quota": {"tap_flow": 2**40}}])
def test_quota_update_validation(admin, body):
    r = admin.put(f"/v2.0/quotas/{ALICE}", body)
    assert r.status_code == 400, body


def test_quota_enforced_per_resource_and_project(admin, alice, bob, alice_ports, bob_port):
    admin.put(f"/v2.0/quotas/{ALICE}", {"quota": {"tap_service": 2, "tap_flow": 1,
                                                  "tap_mirror": 0}})
    s1 = alice.tap_service(alice_ports["mon"])
    alice.tap_service(alice_ports["mon"])
    r = alice.post("/v2.0/taas/tap_services",
                   {"tap_service": {"port_id": alice_ports["mon"]["id"]}})
    assert r.status_code == 409
    error = error_of(r)
    assert error["type"] == "OverQuota"
    assert error["message"] == "Quota exceeded for resources: ['tap_service']."
    alice.tap_flow(s1, alice_ports["vm1"])
    r = alice.post("/v2.0/taas/tap_flows", {"tap_flow": {
        "tap_service_id": s1["id"], "source_port": alice_ports["vm2"]["id"], "direction": "IN"}})
    assert r.status_code == 409 and "tap_flow" in error_of(r)["message"]
    r = alice.post("/v2.0/taas/tap_mirrors", {"tap_mirror": {
        "port_id": alice_ports["vm1"]["id"], "directions": {"IN": 3}, "remote_ip": "192.0.2.1",
        "mirror_type": "gre"}})
    assert r.status_code == 409 and "tap_mirror" in error_of(r)["message"]
    # bob is not affected; an admin acting for alice is counted against alice
    assert bob.tap_service(bob_port)
    r = admin.post("/v2.0/taas/tap_services", {"tap_service": {
        "port_id": alice_ports["mon"]["id"], "project_id": ALICE}})
    assert r.status_code == 409
    # deleting frees quota
    alice.delete(f"/v2.0/taas/tap_services/{s1['id']}")
    assert alice.tap_service(alice_ports["mon"])


def test_session_ids_lowest_free_reused_and_exhausted(make_app):
    app, _ = make_app(session_id_range=(10100, 10102))
    with TestClient(app) as c:
        admin = Api(c, "admin-token")
        net = admin.network()
        port = admin.port(net)
        ids = [admin.tap_service(port)["session_id"] for _ in range(3)]
        assert ids == [10100, 10101, 10102]
        r = admin.post("/v2.0/taas/tap_services", {"tap_service": {"port_id": port["id"]}})
        assert r.status_code == 409 and error_of(r)["type"] == "TapServiceLimitReached"
        services = admin.get("/v2.0/taas/tap_services?sort_key=session_id").json()[
            "tap_services"]
        admin.delete(f"/v2.0/taas/tap_services/{services[1]['id']}")  # frees 10101
        assert admin.tap_service(port)["session_id"] == 10101
        admin.delete(f"/v2.0/taas/tap_services/{services[0]['id']}")  # frees 10100
        assert admin.tap_service(port)["session_id"] == 10100


def test_session_ids_hidden_from_tenants_even_as_filter_or_sort(alice, alice_ports):
    alice.tap_service(alice_ports["mon"])
    assert alice.get("/v2.0/taas/tap_services?session_id=10000").status_code == 400
    assert alice.get("/v2.0/taas/tap_services?sort_key=session_id").status_code == 400
    body = alice.get("/v2.0/taas/tap_services?fields=session_id").json()
    assert body == {"tap_services": [{}]}
