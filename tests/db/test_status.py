"""Combined statuses: a remote tap flow waits for its monitor's host; dead agents show."""
from __future__ import annotations

import datetime

from taas.db import agents, status
from taas.db.models import Agent, TapFlow, TapService, utcnow
from tests.db.test_agents import _topology


def _status(db, model, rid):
    row = db.read(lambda s: s.get(model, rid))
    return row.status, row.status_reason


def test_remote_flow_is_active_only_once_the_monitor_host_applied(db):
    db.write(_topology)                     # F1: source a on h1 -> S1 on port m of h2
    db.write(lambda s: agents.report_status(s, "h1", 1, {"F1": ("ACTIVE", "")}))
    state, reason = _status(db, TapFlow, "F1")
    assert state == "DOWN" and reason.startswith("waiting for host h2")

    db.write(lambda s: agents.report_status(s, "h2", 1, {"S1": ("ACTIVE", "")}))
    assert _status(db, TapService, "S1") == ("ACTIVE", "")
    assert _status(db, TapFlow, "F1") == ("ACTIVE", "")

    # Reported again by the source (every pass reports): stays ACTIVE.
    db.write(lambda s: agents.report_status(s, "h1", 2, {"F1": ("ACTIVE", "")}))
    assert _status(db, TapFlow, "F1") == ("ACTIVE", "")


def test_resources_of_a_dead_agent_say_so_and_recover(db):
    db.write(_topology)
    for host in ("h1", "h2"):
        db.write(lambda s, h=host: agents.agent_heartbeat(s, h, None, 1))
    db.write(lambda s: agents.report_status(s, "h2", 1, {"S1": ("ACTIVE", "")}))
    db.write(lambda s: agents.report_status(s, "h1", 1, {"F1": ("ACTIVE", "")}))
    assert db.write(lambda s: status.mark_dead_agents(s, 30)) == []

    def silence_h2(session):
        session.get(Agent, "h2").last_heartbeat = utcnow() - datetime.timedelta(minutes=5)
    db.write(silence_h2)
    assert db.write(lambda s: status.mark_dead_agents(s, 30)) == ["h2"]
    for model, rid in ((TapService, "S1"), (TapFlow, "F1")):   # F1's monitor is on h2
        state, reason = _status(db, model, rid)
        assert state == "DOWN" and "agent of host h2 is not alive" in reason
    assert _status(db, TapFlow, "F3")[0] == "DOWN"             # untouched: never ACTIVE

    # h2 comes back: it reports its service, then h1's next pass its flow.
    db.write(lambda s: agents.agent_heartbeat(s, "h2", None, 2))
    db.write(lambda s: agents.report_status(s, "h2", 2, {"S1": ("ACTIVE", "")}))
    db.write(lambda s: agents.report_status(s, "h1", 2, {"F1": ("ACTIVE", "")}))
    assert _status(db, TapFlow, "F1") == ("ACTIVE", "")
