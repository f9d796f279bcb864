"""The whole API once on PostgreSQL and MariaDB: dialect differences surface here."""
from __future__ import annotations

import pytest
import yaml
from fastapi.testclient import TestClient

from taas.api.app import create_app
from taas.config import Settings
from taas.db.engine import make_engine
from tests.api.conftest import TOKENS, Api, error_of
from tests.db.conftest import _empty

pytestmark = pytest.mark.parametrize("backend", [
    pytest.param("postgresql", marks=pytest.mark.postgresql),
    pytest.param("mariadb", marks=pytest.mark.mariadb)])


@pytest.fixture
def client(request, backend, tmp_path):
    url = request.getfixturevalue(f"{backend}_url")
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(yaml.safe_dump({"tokens": TOKENS}))
    engine = make_engine(url)
    _empty(engine)
    app = create_app(Settings(database_url=url, tokens_file=str(tokens)), engine=engine)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
    engine.dispose()


def test_full_lifecycle(client):
    admin, alice, bob = (Api(client, t) for t in ("admin-token", "alice-token", "bob-token"))
    net = admin.network(project_id="alice-project", name="net")
    ports = {n: admin.port(net, name=n, project_id="alice-project",
                           fixed_ips=[{"ip_address": f"10.0.0.{i}"}],
                           **{"binding:host_id": f"h{i % 2}"})
             for i, n in enumerate(("mon", "vm1", "vm2", "vm3"))}
    svc = alice.tap_service(ports["mon"], name="ts")
    flows = [alice.tap_flow(svc, ports[n], d, name=f"f-{n}", vlan_filter="1-10,20")
             for n, d in (("vm1", "IN"), ("vm2", "OUT"), ("vm3", "BOTH"))]
    mirror = alice.tap_mirror(ports["vm1"], {"IN": "4294967295", "OUT": 17})
    assert mirror["directions"] == {"IN": 4294967295, "OUT": 17}
    r = bob.post("/v2.0/taas/tap_mirrors", {"tap_mirror": {
        "port_id": bob.port(bob.network())["id"], "directions": {"BOTH": 17},
        "remote_ip": "192.0.2.3", "mirror_type": "gre"}})
    assert r.status_code == 409 and error_of(r)["type"] == "TapMirrorTunnelConflict"

    # sorting on expressions and paging with a marker
    got = admin.get("/v2.0/ports?sort_key=status&sort_key=binding:host_id&sort_dir=desc"
                    "&sort_dir=asc&limit=3").json()
    assert len(got["ports"]) == 3 and got["ports_links"][0]["rel"] == "next"
    names = [f["name"] for f in alice.get(
        "/v2.0/taas/tap_flows?sort_key=name&sort_dir=desc&limit=2").json()["tap_flows"]]
    assert names == ["f-vm3", "f-vm2"]
    assert alice.get("/v2.0/networks?shared=false&fields=id").json() == {
        "networks": [{"id": net["id"]}]}

    # binding move, then cascades
    r = admin.put(f"/v2.0/ports/{ports['mon']['id']}", {"port": {"binding:host_id": "h9"}})
    assert r.status_code == 200 and r.json()["port"]["binding:host_id"] == "h9"
    assert admin.delete(f"/v2.0/ports/{ports['vm1']['id']}").status_code == 204
    assert alice.get(f"/v2.0/taas/tap_mirrors/{mirror['id']}").status_code == 404
    assert alice.get(f"/v2.0/taas/tap_flows/{flows[0]['id']}").status_code == 404
    assert admin.delete(f"/v2.0/ports/{ports['mon']['id']}").status_code == 204
    assert alice.get("/v2.0/taas/tap_flows").json() == {"tap_flows": []}
    r = admin.delete(f"/v2.0/networks/{net['id']}")
    assert r.status_code == 409 and error_of(r)["type"] == "NetworkInUse"

    # quotas and the agents list
    r = admin.put("/v2.0/quotas/alice-project", {"quota": {"tap_service": 0}})
    assert r.status_code == 200
    r = alice.post("/v2.0/taas/tap_services", {"tap_service": {"port_id": ports["vm2"]["id"]}})
    assert r.status_code == 409 and error_of(r)["type"] == "OverQuota"
    hosts = {a["host"] for a in admin.get("/v2.0/agents").json()["agents"]}
    assert {"h0", "h1", "h9"} <= hosts


def test_unusual_input_is_4xx(client):
    alice = Api(client, "alice-token")
    net = alice.network(name="emoji 🐙 名前")
    assert alice.get(f"/v2.0/networks/{net['id']}").json()["network"]["name"] == "emoji 🐙 名前"
    for path in ("/v2.0/networks/" + "x" * 400, "/v2.0/networks?segmentation_id=2147483647",
                 "/v2.0/networks?name=" + "y" * 2000):
        assert alice.get(path).status_code in (200, 404), path
    r = alice.get("/v2.0/networks?limit=2&marker=" + "z" * 300)
    assert r.status_code == 404
