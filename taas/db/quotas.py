"""Per-project quotas: defaults from Settings, overrides in the DB, race-free enforcement."""
from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taas.config import Settings
from taas.db.models import Project, QuotaOverride, TapFlow, TapMirror, TapService

RESOURCES = {"tap_service": TapService, "tap_flow": TapFlow, "tap_mirror": TapMirror}
UNLIMITED = -1


class QuotaExceeded(Exception):
    def __init__(self, resources: list[str]):
        super().__init__(f"Quota exceeded for resources: {resources}.")
        self.resources = resources


def defaults(settings: Settings) -> dict[str, int]:
    return {"tap_service": settings.quota_tap_service, "tap_flow": settings.quota_tap_flow,
            "tap_mirror": settings.quota_tap_mirror}


def ensure_project(session: Session, project_id: str) -> None:
    """Create the project's lock row if missing; a concurrent creator wins harmlessly."""
    if session.get(Project, project_id) is not None:
        return
    try:
        with session.begin_nested():
            session.add(Project(id=project_id))
    except IntegrityError:
        pass


def lock_project(session: Session, project_id: str) -> None:
    """Serialize the project's creates until commit (SELECT ... FOR UPDATE on its row).

    Counting under this lock is exact: every other create of the project waits here, and
    READ COMMITTED (see taas.db.engine) lets the waiter see the rows the holder added.
    SQLite ignores FOR UPDATE; there writers are serialized by BEGIN IMMEDIATE.
    """
    stmt = select(Project.id).where(Project.id == project_id).with_for_update()
    if session.execute(stmt).first() is None:
        ensure_project(session, project_id)
        session.execute(stmt)


def limits(session: Session, settings: Settings, project_id: str) -> dict[str, int]:
    result = defaults(settings)
    rows = session.scalars(select(QuotaOverride).where(QuotaOverride.project_id == project_id))
    for row in rows:
        if row.resource in result:
            result[row.resource] = row.limit
    return result


def usage(session: Session, project_id: str) -> dict[str, int]:
    return {name: session.scalar(select(func.count()).select_from(model)
                                 .where(model.project_id == project_id))
            for name, model in RESOURCES.items()}


def reserve(session: Session, settings: Settings, project_id: str, resource: str,
            amount: int = 1) -> None:
    """Lock the project and raise QuotaExceeded unless `amount` more `resource` fit."""
    lock_project(session, project_id)
    limit = limits(session, settings, project_id)[resource]
    if limit == UNLIMITED:
        return
    model = RESOURCES[resource]
    used = session.scalar(select(func.count()).select_from(model)
                          .where(model.project_id == project_id))
    if used + amount > limit:
        raise QuotaExceeded([resource])


def overrides(session: Session) -> dict[str, dict[str, int]]:
    """project_id -> {resource: limit} for every project with at least one override."""
    result: dict[str, dict[str, int]] = {}
    for row in session.scalars(select(QuotaOverride).order_by(QuotaOverride.project_id)):
        result.setdefault(row.project_id, {})[row.resource] = row.limit
    return result


def set_limits(session: Session, project_id: str, values: dict[str, int]) -> None:
    lock_project(session, project_id)
    for resource, limit in values.items():
        row = session.get(QuotaOverride, (project_id, resource))
        if row is None:
            session.add(QuotaOverride(project_id=project_id, resource=resource, limit=limit))
        else:
            row.limit = limit
    session.flush()


def reset_limits(session: Session, project_id: str) -> None:
    session.execute(delete(QuotaOverride).where(QuotaOverride.project_id == project_id))
