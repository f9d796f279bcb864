"""Which hosts a change touches, and the per-host generation counter that records it."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from taas.db.models import Agent, Port, TapFlow, TapService


def bump_generations(session: Session, hosts: Iterable[str]) -> None:
    """generation += 1 for each host (row created on demand), in the caller's transaction.

    Hosts are updated in sorted order so two transactions never lock them in opposite
    orders.
    """
    for host in sorted({h for h in hosts if h}):
        stmt = update(Agent).where(Agent.host == host).values(generation=Agent.generation + 1)
        if session.execute(stmt).rowcount:
            continue
        try:
            with session.begin_nested():
                session.add(Agent(host=host, generation=1))
        except IntegrityError:  # created concurrently: now it exists
            session.execute(stmt)


def port_hosts(session: Session, port_ids: Iterable[str]) -> set[str]:
    ids = set(port_ids)
    if not ids:
        return set()
    return set(session.scalars(select(Port.host).where(Port.id.in_(ids), Port.host != "")))


def flow_source_hosts(session: Session, tap_service_ids: Iterable[str]) -> set[str]:
    """Hosts of the source ports of every flow into these tap services."""
    ids = set(tap_service_ids)
    if not ids:
        return set()
    stmt = (select(Port.host).join(TapFlow, TapFlow.source_port == Port.id)
            .where(TapFlow.tap_service_id.in_(ids), Port.host != "").distinct())
    return set(session.scalars(stmt))


def flow_source_hosts_towards(session: Session, dest_host: str) -> set[str]:
    """Hosts that send copies to tap services whose port is bound to dest_host."""
    dest = aliased(Port)
    stmt = (select(Port.host).join(TapFlow, TapFlow.source_port == Port.id)
            .join(TapService, TapService.id == TapFlow.tap_service_id)
            .join(dest, dest.id == TapService.port_id)
            .where(dest.host == dest_host, Port.host != "").distinct())
    return set(session.scalars(stmt))


def service_hosts(session: Session, tap_service_ids: Iterable[str]) -> set[str]:
    """Hosts of the destination ports of these tap services."""
    ids = set(tap_service_ids)
    if not ids:
        return set()
    stmt = (select(Port.host).join(TapService, TapService.port_id == Port.id)
            .where(TapService.id.in_(ids), Port.host != "").distinct())
    return set(session.scalars(stmt))
