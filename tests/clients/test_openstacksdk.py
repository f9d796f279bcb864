"""The real openstacksdk (openstack.network.v2 TaaS proxy) against a live taas server."""
from __future__ import annotations

from collections import Counter

import openstack
import pytest
from openstack import exceptions as sdk_exc

from .conftest import next_tunnel_id, unique

# the SDK's own deprecation chatter (find_* ignore_missing, influxdb, ...) is not ours
pytestmark = [pytest.mark.filterwarnings("ignore::openstack.warnings.OpenStackDeprecationWarning"),
              pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")]


def connect(url: str, auth_type: str = "admin_token", **auth):
    if auth_type == "admin_token":
        auth.setdefault("token", "alice-token")
    return openstack.connect(auth_type=auth_type, auth={"endpoint": url, **auth},
                             load_yaml_config=False, load_envvars=False,
                             region_name="RegionOne")


@pytest.fixture(scope="module")
def alice(taas_server):
    conn = connect(taas_server.url, token="alice-token")
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def bob(taas_server):
    conn = connect(taas_server.url, token="bob-token")
    yield conn
    conn.close()


def body_of(resource) -> dict:
    return resource.to_dict(computed=False)


# --------------------------------------------------------------------------- discovery
def test_find_extension_taas(alice):
    ext = alice.network.find_extension("taas")
    assert ext is not None, "find_extension('taas') returned None: the SDK's TaaS tests skip"
    assert ext.alias == "taas"
    aliases = {e.alias for e in alice.network.extensions()}
    assert {"taas", "taas-vlan-filter", "tap-mirror"} <= aliases, aliases


def test_unknown_token_is_rejected(taas_server):
    conn = connect(taas_server.url, token="no-such-token")
    with pytest.raises(sdk_exc.HttpException) as exc:
        list(conn.network.tap_services())
    assert exc.value.status_code == 401
    conn.close()


# --------------------------------------------------------------------------- tap services
def test_tap_service_crud(alice, taas_server, topology):
    port = topology.alice_ports["mon"]
    name = unique("sdk-ts")
    ts = alice.network.create_tap_service(port_id=port["id"], name=name, description="d1")
    try:
        assert ts.id and ts.name == name and ts.description == "d1"
        assert ts.port_id == port["id"]
        assert ts.project_id == taas_server.projects["alice"]
        assert ts.status == "DOWN"  # no agent has reported on it

        got = alice.network.get_tap_service(ts.id)
        assert (got.id, got.name, got.port_id) == (ts.id, name, port["id"])
        assert alice.network.find_tap_service(name).id == ts.id
        assert alice.network.find_tap_service(ts.id).id == ts.id
        assert alice.network.find_tap_service(unique("nope")) is None

        # server-side filter by name (forwarded by the SDK as ?name=)
        assert [s.id for s in alice.network.tap_services(name=name)] == [ts.id]
        assert ts.id in {s.id for s in alice.network.tap_services()}
        # ?fields=id&fields=name: the server projects the response onto those keys
        projected = [s for s in alice.network.tap_services(fields=["id", "name"])
                     if s.id == ts.id]
        assert len(projected) == 1 and projected[0].name == name
        assert projected[0].port_id is None and projected[0].status is None

        twin = alice.network.create_tap_service(port_id=port["id"], name=name)
        with pytest.raises(sdk_exc.DuplicateResource):
            alice.network.find_tap_service(name)
        alice.network.delete_tap_service(twin)

        upd = alice.network.update_tap_service(ts.id, description="d2", name=name + "-x")
        assert (upd.id, upd.description, upd.name) == (ts.id, "d2", name + "-x")
        assert upd.port_id == port["id"]
        assert alice.network.get_tap_service(ts.id).description == "d2"
    finally:
        alice.network.delete_tap_service(ts.id, ignore_missing=True)
    with pytest.raises(sdk_exc.NotFoundException):
        alice.network.get_tap_service(ts.id)
    assert alice.network.find_tap_service(ts.id) is None
    with pytest.raises(sdk_exc.NotFoundException):
        alice.network.delete_tap_service(ts.id, ignore_missing=False)


# --------------------------------------------------------------------------- tap flows
def test_tap_flow_crud_with_vlan_filter(alice, topology):
    ts = alice.network.create_tap_service(port_id=topology.alice_ports["mon"]["id"],
                                          name=unique("sdk-ts-f"))
    src = topology.alice_ports["vm1"]["id"]
    name = unique("sdk-tf")
    tf = alice.network.create_tap_flow(tap_service_id=ts.id, source_port=src, direction="BOTH",
                                       vlan_filter="189,279,999-1008", name=name)
    try:
        assert (tf.tap_service_id, tf.source_port, tf.direction) == (ts.id, src, "BOTH")
        assert tf.name == name
        assert body_of(tf).get("vlan_filter") == "189,279,999-1008"
        assert tf.status == "DOWN"

        got = alice.network.get_tap_flow(tf.id)
        assert body_of(got).get("vlan_filter") == "189,279,999-1008"
        assert got.direction == "BOTH"
        assert alice.network.find_tap_flow(name).id == tf.id

        upd = alice.network.update_tap_flow(tf, description="watch vm1")
        assert upd.description == "watch vm1" and upd.direction == "BOTH"

        # a second flow on the same port into the same service with another direction and
        # no vlan filter is fine and independent of the first one
        tf2 = alice.network.create_tap_flow(tap_service_id=ts.id, source_port=src,
                                            direction="IN")
        assert body_of(tf2).get("vlan_filter") is None
        alice.network.delete_tap_flow(tf2)
        assert alice.network.get_tap_flow(tf.id).id == tf.id  # the first one survives
    finally:
        alice.network.delete_tap_flow(tf.id, ignore_missing=True)
    with pytest.raises(sdk_exc.NotFoundException):
        alice.network.get_tap_flow(tf.id)
    alice.network.delete_tap_service(ts)


def test_deleting_tap_service_deletes_its_flows(alice, topology):
    ts = alice.network.create_tap_service(port_id=topology.alice_ports["mon"]["id"])
    tf = alice.network.create_tap_flow(tap_service_id=ts.id, direction="OUT",
                                       source_port=topology.alice_ports["vm2"]["id"])
    alice.network.delete_tap_service(ts)
    with pytest.raises(sdk_exc.NotFoundException):
        alice.network.get_tap_flow(tf.id)
    assert tf.id not in {f.id for f in alice.network.tap_flows()}


def test_deleting_source_port_removes_flow(alice, taas_server, topology):
    port = taas_server.create_port(topology.alice_net, "alice", unique("doomed"))
    ts = alice.network.create_tap_service(port_id=topology.alice_ports["mon"]["id"])
    tf = alice.network.create_tap_flow(tap_service_id=ts.id, source_port=port["id"],
                                       direction="IN")
    r = taas_server.delete(f"/v2.0/ports/{port['id']}")
    assert r.status_code == 204, r.text
    with pytest.raises(sdk_exc.NotFoundException):
        alice.network.get_tap_flow(tf.id)
    alice.network.delete_tap_service(ts)  # the service itself is still there
    with pytest.raises(sdk_exc.NotFoundException):
        alice.network.get_tap_service(ts.id)


def test_tap_flow_pagination_returns_every_flow_once(alice, taas_server, topology):
    ts = alice.network.create_tap_service(port_id=topology.alice_ports["mon2"]["id"])
    created = []
    try:
        for i in range(7):
            src = taas_server.create_port(topology.alice_net, "alice", unique(f"src-{i}"))
            created.append(alice.network.create_tap_flow(
                tap_service_id=ts.id, source_port=src["id"],
                direction=("IN", "OUT", "BOTH")[i % 3], name=unique(f"page-{i}")).id)
        # each page has exactly `limit` items, so the SDK keeps asking with ?marker=...
        paged = [f.id for f in alice.network.tap_flows(limit=2)]
        counts = Counter(paged)
        assert not [i for i, n in counts.items() if n > 1], f"duplicates: {counts}"
        assert set(created) <= set(paged)
        assert sorted(paged) == sorted(f.id for f in alice.network.tap_flows())
        # sorted paging too (sort_key/sort_dir are forwarded to the server)
        paged_sorted = [f.name for f in alice.network.tap_flows(limit=3, sort_key="name",
                                                                 sort_dir="desc")
                        if f.id in created]
        assert len(paged_sorted) == 7
        assert paged_sorted == sorted(paged_sorted, reverse=True)
    finally:
        alice.network.delete_tap_service(ts)  # cascades to the flows


# --------------------------------------------------------------------------- tap mirrors
def test_tap_mirror_gre_and_erspan(alice, taas_server, topology):
    port = topology.alice_ports["vm2"]["id"]
    t_in, t_in2, t_out = next_tunnel_id(), next_tunnel_id(), next_tunnel_id()
    gre = alice.network.create_tap_mirror(port_id=port, directions={"IN": t_in},
                                          remote_ip="192.0.2.10", mirror_type="gre",
                                          name=unique("sdk-gre"))
    ersp = alice.network.create_tap_mirror(port_id=port, directions={"IN": t_in2, "OUT": t_out},
                                           remote_ip="2001:db8::10", mirror_type="erspanv1",
                                           name=unique("sdk-erspan"), description="two ways")
    try:
        assert gre.mirror_type == "gre" and gre.remote_ip == "192.0.2.10"
        assert {k: int(v) for k, v in gre.directions.items()} == {"IN": t_in}
        assert gre.port_id == port and gre.project_id == taas_server.projects["alice"]
        assert ersp.mirror_type == "erspanv1"
        assert {k: int(v) for k, v in ersp.directions.items()} == {"IN": t_in2, "OUT": t_out}

        got = alice.network.get_tap_mirror(ersp.id)
        assert got.remote_ip == "2001:db8::10" and got.description == "two ways"
        assert alice.network.find_tap_mirror(gre.name).id == gre.id
        assert {gre.id, ersp.id} <= {m.id for m in alice.network.tap_mirrors()}

        new_name = gre.name + "-2"
        upd = alice.network.update_tap_mirror(gre.id, description="new", name=new_name)
        assert (upd.description, upd.name) == ("new", new_name)
        assert upd.mirror_type == "gre"
    finally:
        alice.network.delete_tap_mirror(gre.id, ignore_missing=True)
        alice.network.delete_tap_mirror(ersp.id, ignore_missing=True)
    for m in (gre, ersp):
        with pytest.raises(sdk_exc.NotFoundException):
            alice.network.get_tap_mirror(m.id)


def test_tap_mirror_tunnel_id_conflict(alice, topology):
    tid = next_tunnel_id()
    first = alice.network.create_tap_mirror(port_id=topology.alice_ports["vm1"]["id"],
                                            directions={"OUT": tid}, remote_ip="192.0.2.20",
                                            mirror_type="gre")
    try:
        with pytest.raises(sdk_exc.ConflictException) as exc:
            alice.network.create_tap_mirror(port_id=topology.alice_ports["vm2"]["id"],
                                            directions={"IN": tid}, remote_ip="192.0.2.21",
                                            mirror_type="gre")
        assert exc.value.details and str(tid) in exc.value.details, exc.value.details
        # new ids on the same port are fine
        second = alice.network.create_tap_mirror(port_id=topology.alice_ports["vm1"]["id"],
                                                 directions={"IN": next_tunnel_id()},
                                                 remote_ip="192.0.2.20", mirror_type="gre")
        alice.network.delete_tap_mirror(second)
    finally:
        alice.network.delete_tap_mirror(first)


# --------------------------------------------------------------------------- errors
def test_validation_errors_are_bad_request(alice, topology):
    ts = alice.network.create_tap_service(port_id=topology.alice_ports["mon"]["id"])
    src = topology.alice_ports["vm1"]["id"]
    port = topology.alice_ports["vm2"]["id"]
    try:
        with pytest.raises(sdk_exc.BadRequestException) as exc:
            alice.network.create_tap_flow(tap_service_id=ts.id, source_port=src,
                                          direction="SIDEWAYS")
        assert exc.value.details and "direction" in exc.value.details.lower(), exc.value.details
        with pytest.raises(sdk_exc.BadRequestException):
            alice.network.create_tap_flow(tap_service_id=ts.id, source_port=src,
                                          direction="IN", vlan_filter="10-20,abc")
        with pytest.raises(sdk_exc.BadRequestException):
            alice.network.create_tap_mirror(port_id=port, directions={"IN": next_tunnel_id()},
                                            remote_ip="192.0.2.1", mirror_type="erspanv2")
        with pytest.raises(sdk_exc.BadRequestException):
            alice.network.create_tap_mirror(port_id=port,
                                            directions={"something": next_tunnel_id()},
                                            remote_ip="192.0.2.1", mirror_type="gre")
        with pytest.raises(sdk_exc.BadRequestException):
            alice.network.create_tap_mirror(port_id=port, directions={"IN": next_tunnel_id()},
                                            remote_ip="192.101.0.420", mirror_type="gre")
        with pytest.raises(sdk_exc.NotFoundException):
            alice.network.create_tap_service(port_id="5b2f6d2a-54a1-4d6d-9c5f-2d6a7c1f0e11")
        # only name and description are updatable
        with pytest.raises(sdk_exc.BadRequestException):
            alice.network.update_tap_service(ts.id, port_id=port)
        assert alice.network.get_tap_service(ts.id).port_id == topology.alice_ports["mon"]["id"]
    finally:
        alice.network.delete_tap_service(ts)


def test_other_tenants_resources_are_not_found(alice, bob, topology):
    ts = alice.network.create_tap_service(port_id=topology.alice_ports["mon"]["id"],
                                          name=unique("private"))
    tf = alice.network.create_tap_flow(tap_service_id=ts.id, direction="IN",
                                       source_port=topology.alice_ports["vm1"]["id"])
    try:
        with pytest.raises(sdk_exc.NotFoundException):
            bob.network.get_tap_service(ts.id)
        with pytest.raises(sdk_exc.NotFoundException):
            bob.network.get_tap_flow(tf.id)
        assert bob.network.find_tap_service(ts.name) is None
        assert ts.id not in {s.id for s in bob.network.tap_services()}
        with pytest.raises(sdk_exc.NotFoundException):
            bob.network.update_tap_service(ts.id, description="mine now")
        with pytest.raises(sdk_exc.NotFoundException):
            bob.network.delete_tap_service(ts.id, ignore_missing=False)
        # bob may neither attach his port to alice's service nor tap alice's ports
        with pytest.raises((sdk_exc.NotFoundException, sdk_exc.ForbiddenException)):
            bob.network.create_tap_flow(tap_service_id=ts.id, direction="IN",
                                        source_port=topology.bob_port["id"])
        with pytest.raises((sdk_exc.NotFoundException, sdk_exc.ForbiddenException)):
            bob.network.create_tap_service(port_id=topology.alice_ports["vm2"]["id"])
        # nor can alice tap bob's port
        with pytest.raises((sdk_exc.NotFoundException, sdk_exc.ForbiddenException)):
            alice.network.create_tap_flow(tap_service_id=ts.id, direction="IN",
                                          source_port=topology.bob_port["id"])
        assert alice.network.get_tap_service(ts.id).description == ts.description
    finally:
        alice.network.delete_tap_service(ts)


def test_admin_sees_and_filters_by_project(alice, taas_server, topology):
    admin = connect(taas_server.url, token="admin-token")
    ts = alice.network.create_tap_service(port_id=topology.alice_ports["mon"]["id"])
    try:
        assert admin.network.get_tap_service(ts.id).project_id == taas_server.projects["alice"]
        # ?project_id= is applied by the server (the CLI's --project relies on it)
        mine = list(admin.network.tap_services(project_id=taas_server.projects["alice"]))
        assert ts.id in {s.id for s in mine}
        assert {s.project_id for s in mine} == {taas_server.projects["alice"]}
        assert ts.id not in {s.id for s in admin.network.tap_services(
            project_id=taas_server.projects["bob"])}
    finally:
        alice.network.delete_tap_service(ts)
        admin.close()


def test_quota_exceeded_is_conflict(bob, taas_server, topology):
    project = taas_server.projects["bob"]
    with taas_server.client() as admin:
        r = admin.put(f"/v2.0/quotas/{project}", json={"quota": {"tap_service": 1}})
        assert r.status_code == 200, r.text
        try:
            ts = bob.network.create_tap_service(port_id=topology.bob_port["id"])
            with pytest.raises(sdk_exc.ConflictException) as exc:
                bob.network.create_tap_service(port_id=topology.bob_port["id"])
            assert "quota" in (exc.value.details or "").lower(), exc.value.details
            bob.network.delete_tap_service(ts)
        finally:
            r = admin.delete(f"/v2.0/quotas/{project}")
            assert r.status_code == 204, r.text


# --------------------------------------------------------------------------- other auth types
def test_http_basic_auth(taas_server, topology):
    conn = connect(taas_server.url, auth_type="http_basic", username="alice", password="pw")
    try:
        assert conn.network.find_extension("taas") is not None
        ts = conn.network.create_tap_service(port_id=topology.alice_ports["mon"]["id"],
                                             name=unique("basic"))
        assert ts.project_id == taas_server.projects["alice"]
        assert ts.id in {s.id for s in conn.network.tap_services()}
        conn.network.delete_tap_service(ts)
    finally:
        conn.close()
    bad = connect(taas_server.url, auth_type="http_basic", username="alice", password="wrong")
    with pytest.raises(sdk_exc.HttpException) as exc:
        list(bad.network.tap_services())
    assert exc.value.status_code == 401
    bad.close()


def test_auth_type_none_against_noauth_server(taas_noauth_server):
    srv = taas_noauth_server
    net = srv.create_network("noauth", token=None)
    mon = srv.create_port(net, "noauth", token=None)
    src = srv.create_port(net, "noauth", token=None)
    conn = connect(srv.url, auth_type="none")
    try:
        assert conn.network.find_extension("taas") is not None
        ts = conn.network.create_tap_service(port_id=mon["id"], name="ts-noauth")
        assert ts.project_id == srv.projects["noauth"]
        tf = conn.network.create_tap_flow(tap_service_id=ts.id, source_port=src["id"],
                                          direction="OUT")
        assert conn.network.get_tap_flow(tf.id).source_port == src["id"]
        conn.network.delete_tap_service(ts)
        with pytest.raises(sdk_exc.NotFoundException):
            conn.network.get_tap_flow(tf.id)
    finally:
        conn.close()
