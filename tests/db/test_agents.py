"""The agent interface: host_state, heartbeats, status reports, generations (all backends)."""
from __future__ import annotations

import datetime

from sqlalchemy import event

from taas.dataplane.model import HostState, TapFlowSpec, TapServiceSpec
from taas.db import agents, hosts
from taas.db.models import Agent, Network, Port, TapFlow, TapMirror, TapService, utcnow


def _topology(session):
    """h1: source ports a, b; h2: monitor port m (service S1, session 10001); port u unbound
    (service S2). Flows: F1 a->S1 BOTH, F2 b->S1 IN with a VLAN filter, F3 a->S2 OUT."""
    session.add(Network(id="n", project_id="p", segmentation_id=1))
    session.flush()
    for pid, host in (("a", "h1"), ("b", "h1"), ("m", "h2"), ("u", "")):
        session.add(Port(id=pid, project_id="p", network_id="n", mac_address=f"fa:16:3e:0:0:{pid}",
                         host=host))
    session.flush()
    session.add_all([TapService(id="S1", project_id="p", port_id="m", session_id=10001),
                     TapService(id="S2", project_id="p", port_id="u", session_id=10002)])
    session.flush()
    session.add_all([
        TapFlow(id="F1", project_id="p", tap_service_id="S1", source_port="a", direction="BOTH"),
        TapFlow(id="F2", project_id="p", tap_service_id="S1", source_port="b", direction="IN",
                vlan_filter="10-20"),
        TapFlow(id="F3", project_id="p", tap_service_id="S2", source_port="a", direction="OUT")])
    session.add(TapMirror(id="M1", project_id="p", port_id="a", remote_ip="192.0.2.1",
                          mirror_type="gre"))


def test_host_state_of_source_and_destination_hosts(db):
    db.write(_topology)
    # h2's first tunnel address bumps h1, which sends to h2; then one more bump each
    db.write(lambda s: agents.agent_heartbeat(s, "h2", "10.0.0.2", 0))
    db.write(lambda s: hosts.bump_generations(s, ["h1", "h1", "h2"]))
    h1 = db.read(lambda s: agents.host_state(s, "h1"))
    assert h1 == HostState(host="h1", generation=2, tap_services=(), tap_flows=(
        TapFlowSpec(id="F1", tap_service_id="S1", source_port_id="a", direction="BOTH",
                    session_id=10001, dest_host="h2", dest_tunnel_ip="10.0.0.2"),
        TapFlowSpec(id="F2", tap_service_id="S1", source_port_id="b", direction="IN",
                    session_id=10001, dest_host="h2", dest_tunnel_ip="10.0.0.2",
                    vlan_filter="10-20"),
        TapFlowSpec(id="F3", tap_service_id="S2", source_port_id="a", direction="OUT",
                    session_id=10002, dest_host=None, dest_tunnel_ip=None)))
    h2 = db.read(lambda s: agents.host_state(s, "h2"))
    assert h2.generation == 1 and h2.tap_flows == ()
    assert h2.tap_services == (TapServiceSpec(id="S1", port_id="m", session_id=10001),)
    assert HostState.from_dict(h2.to_dict()) == h2
    assert db.read(lambda s: agents.host_state(s, "nowhere")) == HostState("nowhere", 0)


def test_host_state_uses_a_fixed_number_of_queries(db):
    db.write(_topology)
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        db.read(lambda s: agents.host_state(s, "h1"))
        few = len(statements)
        db.write(lambda s: [s.add(TapFlow(id=f"X{i}", project_id="p", tap_service_id="S1",
                                          source_port="b", direction="IN"))
                            for i in range(20)])
        statements.clear()
        state = db.read(lambda s: agents.host_state(s, "h1"))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(state.tap_flows) == 23
    assert len(statements) == few <= 4


def test_heartbeat_records_liveness_and_reports_tunnel_moves(db):
    db.write(_topology)
    changed = db.write(lambda s: agents.agent_heartbeat(s, "h2", "10.0.0.2", 3))
    assert changed == {"h1"}  # h1 sends copies to h2: it needs the new tunnel address
    assert db.write(lambda s: agents.agent_heartbeat(s, "h2", "10.0.0.2", 4)) == set()
    assert db.write(lambda s: agents.agent_heartbeat(s, "h2", "10.0.0.9", 4)) == {"h1"}
    info = {a.host: a for a in db.read(lambda s: agents.list_agents(s, 30))}
    assert info["h2"].alive and info["h2"].applied_generation == 4
    assert info["h2"].tunnel_ip == "10.0.0.9"
    assert info["h1"].generation == 2 and not info["h1"].alive  # bumped twice, never beat
    # a heartbeat older than the down time means dead
    stale = utcnow() - datetime.timedelta(seconds=100)
    db.write(lambda s: s.get(Agent, "h2").__setattr__("last_heartbeat", stale))
    assert not db.read(lambda s: agents.list_agents(s, 30, host="h2"))[0].alive
    h1 = db.read(lambda s: agents.host_state(s, "h1"))
    assert {f.dest_tunnel_ip for f in h1.tap_flows if f.dest_host} == {"10.0.0.9"}


def test_report_status_updates_only_what_the_host_owns(db):
    db.write(_topology)
    updated = db.write(lambda s: agents.report_status(s, "h1", 1, {
        "F1": ("ACTIVE", ""), "F2": ("ERROR", "no ofport for b"), "M1": ("active", None),
        "S1": ("ACTIVE", "not h1's"), "gone": ("ACTIVE", ""), "F3": ("BOGUS", "")}))
    assert updated == 3

    def statuses(s):
        return {row.id: (row.status, row.status_reason)
                for model in (TapService, TapFlow, TapMirror) for row in s.query(model)}
    got = db.read(statuses)
    # F1 is remote: ACTIVE at its source, held until S1's host (h2) has applied S1.
    assert got["F1"][0] == "DOWN" and got["F1"][1].startswith("waiting for host h2")
    assert got["F2"] == ("ERROR", "no ofport for b")
    assert got["M1"] == ("ACTIVE", "")
    assert got["S1"] == ("DOWN", "") and got["F3"] == ("DOWN", "")
    db.write(lambda s: agents.report_status(s, "h2", 1, {"S1": ("ACTIVE", "x" * 999)}))
    assert db.read(statuses)["S1"] == ("ACTIVE", "x" * 255)
    assert db.read(statuses)["F1"] == ("ACTIVE", "")


def test_bump_generations_creates_rows_and_counts(db):
    db.write(lambda s: hosts.bump_generations(s, {"a", "b", ""}))
    db.write(lambda s: hosts.bump_generations(s, {"a"}))
    got = {a.host: a.generation for a in db.read(lambda s: agents.list_agents(s, 30))}
    assert got == {"a": 2, "b": 1}
