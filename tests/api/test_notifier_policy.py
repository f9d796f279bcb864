"""The notifier contract (hosts after commit, generations bumped) and policy overrides."""
from __future__ import annotations

import yaml
from fastapi.testclient import TestClient

from taas.api.app import _default_conf
from taas.api.policy import list_rules
from taas.db import agents

from .conftest import Api, error_of


def _generations(app) -> dict[str, int]:
    db = app.state.runtime.db
    return {a.host: a.generation for a in db.read(lambda s: agents.list_agents(s, 30))}


def test_each_change_notifies_the_hosts_it_touches(app_and_notifier, admin, alice, alice_ports):
    app, notifier = app_and_notifier
    vm1, vm2, mon = alice_ports["vm1"], alice_ports["vm2"], alice_ports["mon"]  # h1, h2, h2
    notifier.clear()
    svc = alice.tap_service(mon)
    assert notifier.calls == [{"host-2"}]
    flow = alice.tap_flow(svc, vm1)
    assert notifier.calls[-1] == {"host-1", "host-2"}
    mirror = alice.tap_mirror(vm1, {"IN": 5})
    assert notifier.calls[-1] == {"host-1"}
    before = len(notifier.calls)
    alice.put(f"/v2.0/taas/tap_flows/{flow['id']}", {"tap_flow": {"name": "x"}})
    alice.get(f"/v2.0/taas/tap_flows/{flow['id']}")
    assert len(notifier.calls) == before  # reads and renames change no host
    alice.delete(f"/v2.0/taas/tap_mirrors/{mirror['id']}")
    assert notifier.calls[-1] == {"host-1"}
    alice.delete(f"/v2.0/taas/tap_services/{svc['id']}")
    assert notifier.calls[-1] == {"host-1", "host-2"}


def test_failed_requests_notify_nobody(app_and_notifier, bob, alice_ports):
    _, notifier = app_and_notifier
    notifier.clear()
    bob.post("/v2.0/taas/tap_services", {"tap_service": {"port_id": alice_ports["mon"]["id"]}})
    assert notifier.calls == []


def test_generation_bumped_in_the_same_transaction(app_and_notifier, alice, alice_ports):
    app, notifier = app_and_notifier
    start = _generations(app)
    svc = alice.tap_service(alice_ports["mon"])
    after = _generations(app)
    assert after["host-2"] == start.get("host-2", 0) + 1
    assert after.get("host-1") == start.get("host-1")
    alice.tap_flow(svc, alice_ports["vm1"])
    assert _generations(app)["host-1"] == after.get("host-1", 0) + 1


def test_a_failing_notifier_does_not_fail_the_request(make_app):
    class Broken:
        def hosts_changed(self, hosts):
            raise RuntimeError("broker down")

    app, _ = make_app(notifier=Broken())
    with TestClient(app) as c:
        admin = Api(c, "admin-token")
        port = admin.port(admin.network(), **{"binding:host_id": "h"})
        assert admin.tap_service(port)["port_id"] == port["id"]


def test_list_rules_is_the_policy_entry_point():
    names = {rule.name for rule in list_rules()}
    for resource in ("tap_service", "tap_flow", "tap_mirror", "network", "port"):
        for action in ("create", "get", "update", "delete"):
            assert f"{action}_{resource}" in names
    assert {"admin_only", "admin_or_owner", "context_is_admin"} <= names


def _app_with_policy(make_app, tmp_path, rules: dict):
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(rules))
    conf = _default_conf()
    conf.set_override("policy_file", str(path), group="oslo_policy")
    return make_app(conf=conf)[0]


def test_policy_file_can_restrict(make_app, tmp_path):
    app = _app_with_policy(make_app, tmp_path, {"create_tap_service": "rule:admin_only",
                                                "get_port:binding:host_id": "@"})
    with TestClient(app) as c:
        admin, alice = Api(c, "admin-token"), Api(c, "alice-token")
        net = alice.network()
        port = admin.port(net, project_id="alice-project", **{"binding:host_id": "h1"})
        r = alice.post("/v2.0/taas/tap_services", {"tap_service": {"port_id": port["id"]}})
        assert r.status_code == 403 and error_of(r)["type"] == "PolicyNotAuthorized"
        assert admin.tap_service(port, project_id="alice-project")
        # the attribute rule now shows hosts to tenants
        assert alice.get(f"/v2.0/ports/{port['id']}").json()["port"]["binding:host_id"] == "h1"


def test_policy_cannot_open_isolation(make_app, tmp_path):
    """Even an "anyone may do anything" policy keeps projects apart."""
    app = _app_with_policy(make_app, tmp_path, {name: "@" for name in (
        "create_tap_service", "get_tap_service", "delete_tap_service", "get_port")})
    with TestClient(app) as c:
        alice, bob = Api(c, "alice-token"), Api(c, "bob-token")
        bob_port = bob.port(bob.network())
        svc = bob.tap_service(bob_port)
        r = alice.post("/v2.0/taas/tap_services", {"tap_service": {"port_id": bob_port["id"]}})
        assert r.status_code == 404
        assert alice.get(f"/v2.0/taas/tap_services/{svc['id']}").status_code == 404
        r = alice.post("/v2.0/taas/tap_services", {"tap_service": {
            "port_id": bob_port["id"], "project_id": "bob-project"}})
        assert r.status_code == 403


def test_role_admin_decided_by_policy(make_app, tmp_path):
    app = _app_with_policy(make_app, tmp_path, {"context_is_admin": "role:admin or role:member"})
    with TestClient(app) as c:
        assert Api(c, "alice-token").get("/v2.0/agents").status_code == 200
