"""Tap mirrors: a port's traffic to a remote GRE/ERSPAN v1 endpoint, with unique tunnel ids."""
from __future__ import annotations

from sqlalchemy import delete as sql_delete, select
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import URL

from taas.api import views
from taas.api.errors import conflict
from taas.api.listing import Attr, ListQuery, paginate, project
from taas.api.ops.access import monitorable_port, owner_for_create
from taas.api.ops.common import apply_name_update, over_quota, owned_scope, visible_owned
from taas.api.runtime import OpContext
from taas.api.schemas.taas import TapMirrorCreate, TapMirrorUpdate
from taas.db import hosts, quotas
from taas.db.models import TapMirror, TapMirrorTunnel

ATTRS = {
    "id": Attr(TapMirror.id), "name": Attr(TapMirror.name),
    "description": Attr(TapMirror.description),
    "project_id": Attr(TapMirror.project_id), "tenant_id": Attr(TapMirror.project_id),
    "port_id": Attr(TapMirror.port_id), "remote_ip": Attr(TapMirror.remote_ip),
    "mirror_type": Attr(TapMirror.mirror_type), "status": Attr(TapMirror.status),
    "status_reason": Attr(TapMirror.status_reason),
}


def scope(ctx: OpContext):
    return owned_scope(ctx, TapMirror)


def tunnels_of(ctx: OpContext, mirror_ids: list[str]) -> dict[str, dict[str, int]]:
    """mirror id -> {direction: tunnel id}, in one query for a whole page."""
    result: dict[str, dict[str, int]] = {m: {} for m in mirror_ids}
    if mirror_ids:
        for row in ctx.session.scalars(select(TapMirrorTunnel).where(
                TapMirrorTunnel.mirror_id.in_(mirror_ids))):
            result[row.mirror_id][row.direction] = row.tunnel_id
    return result


def visible(ctx: OpContext, tap_mirror_id: str, lock: bool = False) -> TapMirror:
    return visible_owned(ctx, TapMirror, tap_mirror_id, "TapMirror", "update" if lock else None)


def _tunnel_conflict(ctx: OpContext, tunnel_ids: list[int]) -> None:
    taken = sorted(ctx.session.scalars(select(TapMirrorTunnel.tunnel_id).where(
        TapMirrorTunnel.tunnel_id.in_(tunnel_ids))))
    if taken:
        # Say which ids, never which mirror or project holds them.
        raise conflict("TapMirrorTunnelConflict", "Tunnel id(s) "
                       f"{', '.join(map(str, taken))} already used by another tap mirror.")


def create(ctx: OpContext, body: TapMirrorCreate) -> dict:
    owner = owner_for_create(ctx, body.owner(), "create_tap_mirror")
    port = monitorable_port(ctx, body.port_id)
    try:
        quotas.reserve(ctx.session, ctx.settings, owner, "tap_mirror")
    except quotas.QuotaExceeded as exc:
        raise over_quota(exc) from None
    tunnels = body.directions.as_ints()
    if len(set(tunnels.values())) != len(tunnels):
        # One tunnel id twice is the same uniqueness conflict as with another mirror.
        raise conflict("TapMirrorTunnelConflict", "Each direction of a tap mirror needs "
                       "its own tunnel id.")
    _tunnel_conflict(ctx, list(tunnels.values()))
    mirror = TapMirror(project_id=owner, name=body.name, description=body.description,
                       port_id=port.id, remote_ip=body.remote_ip, mirror_type=body.mirror_type,
                       status="DOWN", status_reason="")
    try:
        # UNIQUE(tunnel_id) is the arbiter between concurrent creates.
        with ctx.session.begin_nested():
            ctx.session.add(mirror)
            ctx.session.flush()
            ctx.session.add_all(TapMirrorTunnel(mirror_id=mirror.id, direction=d, tunnel_id=t)
                                for d, t in tunnels.items())
            ctx.session.flush()
    except IntegrityError:
        _tunnel_conflict(ctx, list(tunnels.values()))
        raise
    ctx.touch([port.host])
    return views.tap_mirror(mirror, tunnels)


def show(ctx: OpContext, tap_mirror_id: str) -> dict:
    mirror = visible(ctx, tap_mirror_id)
    return views.tap_mirror(mirror, tunnels_of(ctx, [mirror.id])[mirror.id])


def list_(ctx: OpContext, query: ListQuery, url: URL) -> dict:
    page = paginate(ctx.session, select(TapMirror).where(scope(ctx)), TapMirror.id, ATTRS,
                    query, url, "tap_mirrors")
    mirrors = [row[0] for row in page.rows
               if ctx.allowed("get_tap_mirror", {"project_id": row[0].project_id})]
    tunnels = tunnels_of(ctx, [m.id for m in mirrors])
    body: dict = {"tap_mirrors": [project(views.tap_mirror(m, tunnels[m.id]), query.fields)
                                  for m in mirrors]}
    if page.links is not None:
        body["tap_mirrors_links"] = page.links
    return body


def update(ctx: OpContext, tap_mirror_id: str, body: TapMirrorUpdate) -> dict:
    mirror = visible(ctx, tap_mirror_id, lock=True)
    ctx.authorize("update_tap_mirror", {"project_id": mirror.project_id})
    apply_name_update(mirror, body)
    ctx.session.flush()
    return views.tap_mirror(mirror, tunnels_of(ctx, [mirror.id])[mirror.id])


def delete(ctx: OpContext, tap_mirror_id: str) -> None:
    mirror = visible(ctx, tap_mirror_id, lock=True)
    ctx.authorize("delete_tap_mirror", {"project_id": mirror.project_id})
    ctx.touch(hosts.port_hosts(ctx.session, [mirror.port_id]))
    ctx.session.execute(sql_delete(TapMirrorTunnel).where(TapMirrorTunnel.mirror_id == mirror.id))
    ctx.session.execute(sql_delete(TapMirror).where(TapMirror.id == mirror.id))
