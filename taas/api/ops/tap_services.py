"""Tap services: a destination port plus a cloud-wide unique mirror-session id."""
from __future__ import annotations

from sqlalchemy import delete as sql_delete, select
from starlette.datastructures import URL

from taas.api import views
from taas.api.errors import conflict
from taas.api.listing import Attr, ListQuery, list_collection
from taas.api.ops.access import monitorable_port, owner_for_create
from taas.api.ops.common import (apply_name_update, contended, over_quota, owned_scope,
                                  visible_owned)
from taas.api.runtime import OpContext
from taas.api.schemas.taas import TapServiceCreate, TapServiceUpdate
from taas.db import hosts, quotas
from taas.db.allocate import IdsContended, IdsExhausted, allocate
from taas.db.models import Port, TapFlow, TapService

ATTRS = {
    "id": Attr(TapService.id), "name": Attr(TapService.name),
    "description": Attr(TapService.description),
    "project_id": Attr(TapService.project_id), "tenant_id": Attr(TapService.project_id),
    "port_id": Attr(TapService.port_id), "status": Attr(TapService.status),
    "status_reason": Attr(TapService.status_reason),
}
ADMIN_ATTRS = {**ATTRS, "session_id": Attr(TapService.session_id, int)}


def scope(ctx: OpContext):
    return owned_scope(ctx, TapService)


def shows_session(ctx: OpContext) -> bool:
    return ctx.allowed("get_tap_service:session_id", {"project_id": ctx.caller.project_id})


def visible(ctx: OpContext, tap_service_id: str, lock: str | None = None) -> TapService:
    """The tap service if the caller may see it, else 404; lock is "share" or "update"."""
    return visible_owned(ctx, TapService, tap_service_id, "TapService", lock)


def create(ctx: OpContext, body: TapServiceCreate) -> dict:
    project = owner_for_create(ctx, body.owner(), "create_tap_service")
    port = monitorable_port(ctx, body.port_id)
    try:
        quotas.reserve(ctx.session, ctx.settings, project, "tap_service")
    except quotas.QuotaExceeded as exc:
        raise over_quota(exc) from None
    service = TapService(project_id=project, name=body.name, description=body.description,
                         port_id=port.id, status="DOWN", status_reason="")

    def insert(session_id: int) -> None:
        service.session_id = session_id
        ctx.session.add(service)
        ctx.session.flush()

    first, last = ctx.settings.session_id_range
    try:
        allocate(ctx.session, TapService.session_id, first, last, insert)
    except IdsExhausted:
        raise conflict("TapServiceLimitReached", "Reached the maximum number of tap "
                       f"services: all {last - first + 1} mirror-session ids are in use."
                       ) from None
    except IdsContended:
        raise contended("mirror-session") from None
    ctx.touch([port.host])
    return views.tap_service(service, shows_session(ctx))


def show(ctx: OpContext, tap_service_id: str) -> dict:
    return views.tap_service(visible(ctx, tap_service_id), shows_session(ctx))


def list_(ctx: OpContext, query: ListQuery, url: URL) -> dict:
    show_session = shows_session(ctx)
    return list_collection(
        ctx.session, select(TapService).where(scope(ctx)), TapService.id,
        ADMIN_ATTRS if show_session else ATTRS, query, url, "tap_services",
        render=lambda row: views.tap_service(row[0], show_session),
        allowed=lambda row: ctx.allowed("get_tap_service", {"project_id": row[0].project_id}))


def update(ctx: OpContext, tap_service_id: str, body: TapServiceUpdate) -> dict:
    service = visible(ctx, tap_service_id, lock="update")
    ctx.authorize("update_tap_service", {"project_id": service.project_id})
    apply_name_update(service, body)
    ctx.session.flush()
    return views.tap_service(service, shows_session(ctx))


def delete(ctx: OpContext, tap_service_id: str) -> None:
    service = visible(ctx, tap_service_id, lock="update")
    ctx.authorize("delete_tap_service", {"project_id": service.project_id})
    port_host = ctx.session.scalar(select(Port.host).where(Port.id == service.port_id))
    ctx.touch([port_host, *hosts.flow_source_hosts(ctx.session, [service.id])])
    # Immediate: no PENDING_DELETE. Agents converge on the next state they fetch.
    ctx.session.execute(sql_delete(TapFlow).where(TapFlow.tap_service_id == service.id))
    ctx.session.execute(sql_delete(TapService).where(TapService.id == service.id))
