"""The server side of the agent interface: desired state per host, heartbeats, status reports.

Plain functions on a SQLAlchemy Session; the caller (RPC endpoint or API) owns the
transaction and commits. Everything here is level-triggered: an agent asks for the whole
state of its host, never for a delta.
"""
from __future__ import annotations

import dataclasses
import datetime
import logging
from typing import Mapping

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from taas.dataplane.model import HostState, TapFlowSpec, TapServiceSpec
from taas.db import hosts
from taas.db import status as combined_status
from taas.db.models import Agent, Port, TapFlow, TapMirror, TapService, utcnow

LOG = logging.getLogger(__name__)

STATUSES = frozenset({"ACTIVE", "DOWN", "ERROR", "BUILD"})
REASON_LEN = 255


def host_state(session: Session, host: str) -> HostState:
    """Everything `host`'s agent must make true, in three queries whatever the size."""
    # The generation is read first: the rows read next are at least that new, so an agent
    # that applied this state never believes it is newer than it is.
    generation = session.scalar(select(Agent.generation).where(Agent.host == host)) or 0

    services = session.execute(
        select(TapService.id, TapService.port_id, TapService.session_id)
        .join(Port, Port.id == TapService.port_id)
        .where(Port.host == host))
    service_specs = tuple(sorted(
        TapServiceSpec(id=row.id, port_id=row.port_id, session_id=row.session_id)
        for row in services))

    source = aliased(Port)
    dest = aliased(Port)
    flows = session.execute(
        select(TapFlow.id, TapFlow.tap_service_id, TapFlow.source_port, TapFlow.direction,
               TapFlow.vlan_filter, TapService.session_id, dest.host.label("dest_host"),
               Agent.tunnel_ip)
        .join(source, source.id == TapFlow.source_port)
        .join(TapService, TapService.id == TapFlow.tap_service_id)
        .join(dest, dest.id == TapService.port_id)
        .outerjoin(Agent, Agent.host == dest.host)
        .where(source.host == host))
    flow_specs = tuple(sorted(
        TapFlowSpec(id=row.id, tap_service_id=row.tap_service_id,
                    source_port_id=row.source_port, direction=row.direction,
                    session_id=row.session_id, dest_host=row.dest_host or None,
                    dest_tunnel_ip=(row.tunnel_ip or None) if row.dest_host else None,
                    vlan_filter=row.vlan_filter)
        for row in flows))
    return HostState(host=host, generation=generation, tap_services=service_specs,
                     tap_flows=flow_specs)


def agent_heartbeat(session: Session, host: str, tunnel_ip: str | None,
                    applied_generation: int | None) -> set[str]:
    """Record that `host`'s agent is alive, where its tunnels end and what it applied.

    Returns the hosts whose desired state changed (their generation is bumped here): when
    the tunnel address moves, every host sending copies towards `host` must re-plumb.
    The caller should notify those hosts after commit.
    """
    now = utcnow()
    agent = session.get(Agent, host, with_for_update=True)
    if agent is None:
        try:
            with session.begin_nested():
                agent = Agent(host=host, generation=0, tunnel_ip=None)
                session.add(agent)
        except IntegrityError:  # a concurrent first heartbeat created it
            agent = session.get(Agent, host, with_for_update=True, populate_existing=True)
    changed: set[str] = set()
    if agent.tunnel_ip != tunnel_ip:
        LOG.info("agent %s: tunnel_ip %s -> %s", host, agent.tunnel_ip, tunnel_ip)
        changed = hosts.flow_source_hosts_towards(session, host)
        agent.tunnel_ip = tunnel_ip
    agent.last_heartbeat = now
    if applied_generation is not None:
        agent.applied_generation = int(applied_generation)
    session.flush()
    hosts.bump_generations(session, changed)
    return changed


def report_status(session: Session, host: str, generation: int,
                  statuses: Mapping[str, tuple[str, str]]) -> int:
    """Set status/status_reason of the tap services, flows and mirrors `host` is in charge of.

    Unknown ids are ignored (deleted meanwhile), and so are resources that no longer live
    on `host` (a stale report must not overwrite the new host's). Returns rows updated.
    """
    groups: dict[tuple[str, str], list[str]] = {}
    for resource_id, (status, reason) in statuses.items():
        status = str(status).upper()
        if status not in STATUSES:
            LOG.warning("agent %s reported unknown status %r for %s", host, status, resource_id)
            continue
        groups.setdefault((status, str(reason or "")[:REASON_LEN]), []).append(resource_id)
    on_host = select(Port.id).where(Port.host == host)
    updated = 0
    for (status, reason), ids in groups.items():
        values = {"status": status, "status_reason": reason}
        for model, port_column in ((TapService, TapService.port_id),
                                   (TapFlow, TapFlow.source_port),
                                   (TapMirror, TapMirror.port_id)):
            result = session.execute(
                update(model).where(model.id.in_(ids), port_column.in_(on_host))
                .values(**values).execution_options(synchronize_session=False))
            updated += result.rowcount or 0
    # A remote tap flow needs both ends: hold it until the monitor's host has applied its
    # tap service, and free the flows that waited for services now ACTIVE.
    active = [rid for (status, _), ids in groups.items() if status == "ACTIVE" for rid in ids]
    combined_status.hold_remote_flows(session, active)
    combined_status.release_waiting_flows(session, active)
    LOG.debug("agent %s reported %d statuses for generation %s", host, updated, generation)
    return updated


@dataclasses.dataclass(frozen=True)
class AgentInfo:
    host: str
    alive: bool
    last_heartbeat: datetime.datetime | None
    tunnel_ip: str | None
    generation: int
    applied_generation: int | None


def list_agents(session: Session, down_time: float, host: str | None = None) -> list[AgentInfo]:
    """Every known host; alive when its last heartbeat is younger than down_time seconds."""
    cutoff = utcnow() - datetime.timedelta(seconds=down_time)
    stmt = select(Agent).order_by(Agent.host)
    if host is not None:
        stmt = stmt.where(Agent.host == host)
    return [AgentInfo(host=a.host, alive=bool(a.last_heartbeat and a.last_heartbeat >= cutoff),
                      last_heartbeat=a.last_heartbeat, tunnel_ip=a.tunnel_ip,
                      generation=a.generation, applied_generation=a.applied_generation)
            for a in session.scalars(stmt)]
