"""Statuses that need more than one agent's word: a remote tap flow is ACTIVE only once
both its hosts have applied it, and a dead agent's resources say so."""
from __future__ import annotations

import datetime
import logging
from typing import Iterable

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, aliased

from taas.db.models import Agent, Port, TapFlow, TapService, utcnow

LOG = logging.getLogger(__name__)

WAITING = "waiting for host {host}, where its tap service's port is, to apply it"
WAITING_PREFIX = "waiting for host "
DEAD = "the agent of host {host} is not alive (last heartbeat {seen})"


def hold_remote_flows(session: Session, flow_ids: Iterable[str]) -> int:
    """Flows just reported ACTIVE by their source host stay DOWN while the tap service on
    another host is not ACTIVE yet (the copies would be dropped there)."""
    flow_ids = list(flow_ids)
    if not flow_ids:
        return 0
    src, dst = aliased(Port), aliased(Port)
    rows = session.execute(
        select(TapFlow.id, dst.host)
        .join(src, src.id == TapFlow.source_port)
        .join(TapService, TapService.id == TapFlow.tap_service_id)
        .join(dst, dst.id == TapService.port_id)
        .where(TapFlow.id.in_(flow_ids), TapFlow.status == "ACTIVE",
               TapService.status != "ACTIVE", src.host != dst.host)).all()
    for flow_id, dest_host in rows:
        session.execute(update(TapFlow).where(TapFlow.id == flow_id).values(
            status="DOWN", status_reason=WAITING.format(host=dest_host or "(unbound)"))
            .execution_options(synchronize_session=False))
    return len(rows)


def release_waiting_flows(session: Session, service_ids: Iterable[str]) -> int:
    """Tap services just reported ACTIVE: the flows that only waited for them are ACTIVE."""
    service_ids = list(service_ids)
    if not service_ids:
        return 0
    active = select(TapService.id).where(TapService.id.in_(service_ids),
                                         TapService.status == "ACTIVE")
    result = session.execute(
        update(TapFlow).where(TapFlow.tap_service_id.in_(active), TapFlow.status == "DOWN",
                              TapFlow.status_reason.startswith(WAITING_PREFIX))
        .values(status="ACTIVE", status_reason="")
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def mark_dead_agents(session: Session, down_time: float) -> list[str]:
    """Resources on hosts whose agent stopped heartbeating go DOWN with the reason; the
    agent's next report (it reports after every pass) brings them back."""
    cutoff = utcnow() - datetime.timedelta(seconds=down_time)
    dead = session.execute(select(Agent.host, Agent.last_heartbeat)
                           .where(Agent.last_heartbeat < cutoff)).all()
    for host, seen in dead:
        reason = DEAD.format(host=host, seen=seen.isoformat(timespec="seconds") + "Z")
        on_host = select(Port.id).where(Port.host == host)
        services_on_host = select(TapService.id).where(TapService.port_id.in_(on_host))
        stale = or_(TapService.status != "DOWN", TapService.status_reason != reason)
        session.execute(update(TapService).where(TapService.port_id.in_(on_host), stale)
                        .values(status="DOWN", status_reason=reason)
                        .execution_options(synchronize_session=False))
        flow_stale = or_(TapFlow.status != "DOWN", TapFlow.status_reason != reason)
        session.execute(
            update(TapFlow).where(and_(
                or_(TapFlow.source_port.in_(on_host),
                    TapFlow.tap_service_id.in_(services_on_host)), flow_stale))
            .values(status="DOWN", status_reason=reason)
            .execution_options(synchronize_session=False))
    if dead:
        LOG.info("agents not alive: %s", ", ".join(h for h, _ in dead))
    return [h for h, _ in dead]
