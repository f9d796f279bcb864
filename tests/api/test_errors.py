"""Every failure is a NeutronError body with a 4xx (or a clean 5xx for a broken database)."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from .conftest import Api, error_of


@pytest.mark.parametrize("payload,needle", [
    (b"{", "Malformed JSON"),
    (b"", "body"),
    (b"[]", "body"),
    (b'{"tap_service": "x"}', "tap_service"),
    (b'{"tap_service": []}', "tap_service"),
    (b'{"tap_services": {}}', "tap_service"),
    (b'{"tap_service": {"port_id": 5}}', "port_id"),
    (b'{"tap_service": {"port_id": null}}', "port_id"),
    (b'{"tap_service": {"port_id": "p", "name": 5}}', "name"),
    (b'{"tap_service": {"port_id": "p", "name": "a\\u0000b"}}', "NUL"),
    (b'{"tap_service": {"port_id": "p", "name": "\\ud800"}}', "Unicode"),
    (b'{"tap_service": {"port_id": "p"}, "extra": 1}', "extra"),
])
def test_malformed_bodies_are_400(alice, payload, needle):
    r = alice.request("POST", "/v2.0/taas/tap_services", content=payload,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400, (payload, r.text)
    assert needle in error_of(r)["message"], (payload, error_of(r))


def test_unknown_attributes_are_named(alice):
    r = alice.post("/v2.0/networks", {"network": {"colour": "red", "size": 3}})
    assert r.status_code == 400
    assert error_of(r)["message"] == "Unrecognized attribute(s) 'colour', 'size'"


def test_unknown_paths_and_methods(alice, anonymous):
    r = alice.get("/v2.0/taas/tap_things")
    assert r.status_code == 404 and error_of(r)["type"] == "HTTPNotFound"
    r = alice.request("PATCH", "/v2.0/taas/tap_services")
    assert r.status_code == 405 and error_of(r)["type"] == "HTTPMethodNotAllowed"
    assert "GET" in r.headers["allow"]
    r = alice.request("POST", "/v2.0/taas/tap_services/some-id", json={})
    assert r.status_code == 405
    r = anonymous.get("/nowhere")
    assert r.status_code == 404 and error_of(r)


def test_put_and_delete_of_unknown_ids_are_404(alice):
    for collection, kind in (("taas/tap_services", "TapService"), ("taas/tap_flows", "TapFlow"),
                             ("taas/tap_mirrors", "TapMirror"), ("ports", "Port"),
                             ("networks", "Network")):
        key = collection.split("/")[-1][:-1]
        r = alice.put(f"/v2.0/{collection}/1234", {key: {"name": "x"}})
        assert r.status_code == 404 and error_of(r)["type"] == f"{kind}NotFound", collection
        r = alice.delete(f"/v2.0/{collection}/1234")
        assert r.status_code == 404 and error_of(r)["type"] == f"{kind}NotFound"


def test_oversized_body_is_413(alice):
    r = alice.request("POST", "/v2.0/networks", content=b" " * (2 << 20),
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and error_of(r)["type"] == "HTTPRequestEntityTooLarge"


def test_null_for_a_non_nullable_update_is_400(alice):
    net = alice.network()
    r = alice.put(f"/v2.0/networks/{net['id']}", {"network": {"name": None}})
    assert r.status_code == 400 and "name" in error_of(r)["message"]


def test_database_failure_is_a_clean_error_body(make_app):
    app, _ = make_app()
    engine = app.state.runtime.db.engine
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE tap_mirror_tunnels"))
    with TestClient(app, raise_server_exceptions=False) as c:
        admin = Api(c, "admin-token")
        port = admin.port(admin.network())
        r = admin.post("/v2.0/taas/tap_mirrors", {"tap_mirror": {
            "port_id": port["id"], "directions": {"IN": 1}, "remote_ip": "192.0.2.1",
            "mirror_type": "gre"}})
        assert r.status_code in (500, 503)
        error = error_of(r)
        assert "tap_mirror_tunnels" not in error["message"]  # no SQL leaks out
        assert "Traceback" not in r.text
