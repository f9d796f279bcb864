"""Version discovery, extensions and the three authentication strategies."""
from __future__ import annotations

import base64
import os
import time

import pytest
import yaml
from fastapi.testclient import TestClient

from .conftest import ALICE, error_of


@pytest.mark.parametrize("path", ["/", "/v2.0", "/v2.0/"])
def test_version_discovery_needs_no_token(anonymous, path):
    r = anonymous.get(path)
    assert r.status_code == 200, r.text
    body = r.json()
    version = body["versions"][0] if path == "/" else body["version"]
    assert version["id"] == "v2.0" and version["status"] == "CURRENT"
    assert version["links"][0]["href"].endswith("/v2.0/")
    if path != "/":
        assert {"tap_services", "tap_flows", "tap_mirrors", "ports", "networks"} <= {
            r["collection"] for r in body["resources"]}


def test_extensions_list_and_show(alice):
    r = alice.get("/v2.0/extensions")
    assert r.status_code == 200
    aliases = {e["alias"] for e in r.json()["extensions"]}
    assert aliases == {"taas", "taas-vlan-filter", "tap-mirror", "tap-mirror-both-direction"}
    for alias in aliases:
        ext = alice.get(f"/v2.0/extensions/{alias}").json()["extension"]
        assert ext["alias"] == alias and ext["name"] and "updated" in ext
    r = alice.get("/v2.0/extensions/fwaas")
    assert r.status_code == 404 and error_of(r)["type"] == "ExtensionNotFound"


@pytest.mark.parametrize("headers", [{}, {"X-Auth-Token": "nope"}, {"X-Auth-Token": ""},
                                     {"Authorization": "Basic !!!"},
                                     {"Authorization": "Basic " + base64.b64encode(
                                         b"alice:wrong").decode()}])
def test_unauthenticated_is_401_neutron_error(client, headers):
    for path in ("/v2.0/taas/tap_services", "/v2.0/ports", "/v2.0/extensions",
                 "/v2.0/taas/tap_services/not-a-uuid"):
        r = client.get(path, headers=headers)
        assert r.status_code == 401, (path, r.text)
        assert error_of(r)["type"] == "HTTPUnauthorized"


def test_http_basic_user_maps_to_its_project(client, alice_ports):
    auth = "Basic " + base64.b64encode(b"alice:alice-pw").decode()
    r = client.post("/v2.0/taas/tap_services", headers={"Authorization": auth},
                    json={"tap_service": {"port_id": alice_ports["mon"]["id"]}})
    assert r.status_code == 201, r.text
    assert r.json()["tap_service"]["project_id"] == ALICE


def test_bad_id_with_valid_token_is_404_never_401(alice):
    for path in ("/v2.0/taas/tap_services/x", "/v2.0/taas/tap_flows/%20",
                 "/v2.0/taas/tap_mirrors/" + "9" * 300, "/v2.0/ports/a%00b",
                 "/v2.0/networks/..%2F..%2Fetc"):
        r = alice.get(path)
        assert r.status_code == 404, (path, r.text)
        error_of(r)


def test_noauth_makes_every_caller_admin_of_one_project(make_app):
    app, _ = make_app(auth_strategy="noauth", noauth_project_id="demo")
    with TestClient(app) as c:
        r = c.post("/v2.0/networks", json={"network": {"name": "n"}},
                   headers={"X-Auth-Token": "notused"})
        assert r.status_code == 201 and r.json()["network"]["project_id"] == "demo"
        assert c.get("/v2.0/agents").status_code == 200  # admin


def test_tokens_file_is_reloaded_when_it_changes(make_app, tokens_file):
    app, _ = make_app()
    with TestClient(app) as c:
        assert c.get("/v2.0/networks", headers={"X-Auth-Token": "new-token"}).status_code == 401
        data = yaml.safe_load(tokens_file.read_text())
        data["tokens"]["new-token"] = {"project_id": "p-new", "roles": ["member"]}
        tokens_file.write_text(yaml.safe_dump(data))
        later = time.time() + 5
        os.utime(tokens_file, (later, later))
        assert c.get("/v2.0/networks", headers={"X-Auth-Token": "new-token"}).status_code == 200


def test_tokens_strategy_without_file_refuses_to_start(make_app):
    with pytest.raises(ValueError, match="tokens_file"):
        make_app(tokens_file=None)


def test_keystone_strategy_builds_the_auth_token_filter(make_app):
    # No Keystone here: the filter is built, and a token it cannot validate is a 401.
    from taas.api.app import _default_conf
    conf = _default_conf()
    app, _ = make_app(auth_strategy="keystone", conf=conf)
    with TestClient(app) as c:
        assert c.get("/").status_code == 200
        assert c.get("/v2.0/networks").status_code == 401


def test_agents_are_admin_only(alice, admin):
    r = alice.get("/v2.0/agents")
    assert r.status_code == 403 and error_of(r)["type"] == "PolicyNotAuthorized"
    assert admin.get("/v2.0/agents").json() == {"agents": []}


def test_openapi_declares_neutron_errors_and_no_422(anonymous):
    doc = anonymous.get("/openapi.json").json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            assert "422" not in op["responses"], (method, path)
            if path.startswith("/v2.0/") and path != "/v2.0":
                assert "401" in op["responses"], (method, path)
                assert op["responses"]["401"]["content"]["application/json"]["schema"][
                    "$ref"].endswith("/NeutronErrorResponse")
    create = doc["paths"]["/v2.0/taas/tap_services"]["post"]
    assert {"201", "400", "401", "403", "404", "409"} <= set(create["responses"])
    body = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/TapServiceCreateRequest")
