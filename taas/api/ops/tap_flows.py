"""Tap flows: copy one source port's traffic (IN/OUT/BOTH) into a tap service."""
from __future__ import annotations

from sqlalchemy import delete as sql_delete, select
from starlette.datastructures import URL

from taas.api import views
from taas.api.errors import bad_request, forbidden
from taas.api.listing import Attr, ListQuery, list_collection
from taas.api.ops import tap_services
from taas.api.ops.access import monitorable_port, owner_for_create
from taas.api.ops.common import apply_name_update, over_quota, owned_scope, visible_owned
from taas.api.runtime import OpContext
from taas.api.schemas.taas import TapFlowCreate, TapFlowUpdate
from taas.db import hosts, quotas
from taas.db.models import TapFlow

ATTRS = {
    "id": Attr(TapFlow.id), "name": Attr(TapFlow.name),
    "description": Attr(TapFlow.description),
    "project_id": Attr(TapFlow.project_id), "tenant_id": Attr(TapFlow.project_id),
    "tap_service_id": Attr(TapFlow.tap_service_id), "source_port": Attr(TapFlow.source_port),
    "direction": Attr(TapFlow.direction), "vlan_filter": Attr(TapFlow.vlan_filter, sortable=False),
    "status": Attr(TapFlow.status), "status_reason": Attr(TapFlow.status_reason),
}


def scope(ctx: OpContext):
    return owned_scope(ctx, TapFlow)


def visible(ctx: OpContext, tap_flow_id: str, lock: bool = False) -> TapFlow:
    return visible_owned(ctx, TapFlow, tap_flow_id, "TapFlow", "update" if lock else None)


def create(ctx: OpContext, body: TapFlowCreate) -> dict:
    # Share-locked: the service cannot be deleted between our checks and our insert.
    service = tap_services.visible(ctx, body.tap_service_id, lock="share")
    requested = body.owner()
    if ctx.caller.is_admin and not requested:
        requested = service.project_id  # an admin's flow joins the service's project
    project = owner_for_create(ctx, requested, "create_tap_flow")
    if service.project_id != project:
        raise forbidden(f"Tap service {service.id} does not belong to project {project}; a "
                        "tap flow and its tap service must have the same project.",
                        "TapServiceNotBelongToTenant")
    source = monitorable_port(ctx, body.source_port)
    if source.id == service.port_id:
        raise bad_request(f"Port {source.id} is the destination of tap service {service.id}; "
                          "it cannot also be a source of that service.")
    try:
        quotas.reserve(ctx.session, ctx.settings, project, "tap_flow")
    except quotas.QuotaExceeded as exc:
        raise over_quota(exc) from None
    flow = TapFlow(project_id=project, name=body.name, description=body.description,
                   tap_service_id=service.id, source_port=source.id, direction=body.direction,
                   vlan_filter=body.vlan_filter, status="DOWN", status_reason="")
    ctx.session.add(flow)
    ctx.session.flush()
    ctx.touch([source.host, *hosts.service_hosts(ctx.session, [service.id])])
    return views.tap_flow(flow)


def show(ctx: OpContext, tap_flow_id: str) -> dict:
    return views.tap_flow(visible(ctx, tap_flow_id))


def list_(ctx: OpContext, query: ListQuery, url: URL) -> dict:
    return list_collection(
        ctx.session, select(TapFlow).where(scope(ctx)), TapFlow.id, ATTRS, query, url,
        "tap_flows", render=lambda row: views.tap_flow(row[0]),
        allowed=lambda row: ctx.allowed("get_tap_flow", {"project_id": row[0].project_id}))


def update(ctx: OpContext, tap_flow_id: str, body: TapFlowUpdate) -> dict:
    flow = visible(ctx, tap_flow_id, lock=True)
    ctx.authorize("update_tap_flow", {"project_id": flow.project_id})
    apply_name_update(flow, body)
    ctx.session.flush()
    return views.tap_flow(flow)


def delete(ctx: OpContext, tap_flow_id: str) -> None:
    flow = visible(ctx, tap_flow_id, lock=True)
    ctx.authorize("delete_tap_flow", {"project_id": flow.project_id})
    ctx.touch(hosts.port_hosts(ctx.session, [flow.source_port]))
    ctx.touch(hosts.service_hosts(ctx.session, [flow.tap_service_id]))
    ctx.session.execute(sql_delete(TapFlow).where(TapFlow.id == flow.id))
