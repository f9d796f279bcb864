"""Ports: create on visible networks, bind/move between hosts, delete with TaaS cascades."""
from __future__ import annotations

import random

from sqlalchemy import case, delete as sql_delete, exists, or_, select, update as sql_update
from starlette.datastructures import URL

from taas.api import views
from taas.api.errors import conflict, resource_not_found
from taas.api.listing import Attr, ListQuery, list_collection
from taas.api.ops import networks
from taas.api.ops.access import may_see_port, owner_for_create, port_scope, port_target
from taas.api.runtime import OpContext
from taas.api.schemas.inventory import PortCreate, PortUpdate
from taas.db import hosts
from taas.db.models import Network, Port, TapFlow, TapMirror, TapMirrorTunnel, TapService

ATTRS = {
    "id": Attr(Port.id), "name": Attr(Port.name), "description": Attr(Port.description),
    "network_id": Attr(Port.network_id),
    "project_id": Attr(Port.project_id), "tenant_id": Attr(Port.project_id),
    "mac_address": Attr(Port.mac_address), "device_id": Attr(Port.device_id),
    "device_owner": Attr(Port.device_owner),
    "port_security_enabled": Attr(Port.port_security_enabled, bool),
    "admin_state_up": Attr(Port.admin_state_up, bool),
    "status": Attr(case((Port.host != "", "ACTIVE"), else_="DOWN")),
    "binding:vif_type": Attr(case((Port.host != "", "ovs"), else_="unbound")),
}
ADMIN_ATTRS = {**ATTRS, "binding:host_id": Attr(Port.host)}
OPENSTACK_OUI = "fa:16:3e"


def random_mac() -> str:
    return OPENSTACK_OUI + "".join(f":{random.randrange(256):02x}" for _ in range(3))


def shows_host(ctx: OpContext) -> bool:
    return ctx.allowed("get_port:binding:host_id", {"project_id": ctx.caller.project_id})


def visible(ctx: OpContext, port_id: str, lock: bool = False) -> tuple[Port, Network]:
    """The port and its network if the caller may see it, else 404 PortNotFound."""
    stmt = select(Port, Network).join(Network, Network.id == Port.network_id).where(
        Port.id == port_id)
    if lock:
        stmt = stmt.with_for_update(of=Port)
    row = ctx.session.execute(stmt).first()
    if row is None or not may_see_port(ctx.caller, *row) \
            or not ctx.allowed("get_port", port_target(*row)):
        raise resource_not_found("Port", port_id)
    return row[0], row[1]


def create(ctx: OpContext, body: PortCreate) -> dict:
    project = owner_for_create(ctx, body.owner(), "create_port")
    network = networks.visible(ctx, body.network_id)
    given = body.given()
    if given.get("binding:host_id"):
        ctx.authorize("create_port:binding:host_id", {"project_id": project})
    mac = body.mac_address
    if mac is None:
        mac = random_mac()
        while ctx.session.scalar(select(exists().where(Port.network_id == network.id,
                                                       Port.mac_address == mac))):
            mac = random_mac()
    elif ctx.session.scalar(select(exists().where(Port.network_id == network.id,
                                                  Port.mac_address == mac))):
        raise conflict("MacAddressInUse", f"Unable to complete operation for network "
                       f"{network.id}. The mac address {mac} is in use.")
    port = Port(project_id=project, network_id=network.id, name=body.name,
                description=body.description, mac_address=mac,
                fixed_ips=[ip.model_dump() for ip in body.fixed_ips], device_id=body.device_id,
                device_owner=body.device_owner,
                port_security_enabled=body.port_security_enabled,
                host=body.binding_host_id, admin_state_up=body.admin_state_up,
                tags=list(body.tags))
    ctx.session.add(port)
    ctx.session.flush()
    return views.port(port, shows_host(ctx))


def show(ctx: OpContext, port_id: str) -> dict:
    return views.port(visible(ctx, port_id)[0], shows_host(ctx))


def list_(ctx: OpContext, query: ListQuery, url: URL) -> dict:
    show_host = shows_host(ctx)
    stmt = (select(Port, Network.project_id).join(Network, Network.id == Port.network_id)
            .where(port_scope(ctx.caller)))
    return list_collection(
        ctx.session, stmt, Port.id, ADMIN_ATTRS if show_host else ATTRS, query, url, "ports",
        render=lambda row: views.port(row[0], show_host),
        allowed=lambda row: ctx.allowed("get_port", {
            "project_id": row[0].project_id, "network_project_id": row[1]}))


def update(ctx: OpContext, port_id: str, body: PortUpdate) -> dict:
    port, network = visible(ctx, port_id, lock=True)
    ctx.authorize("update_port", port_target(port, network))
    changes = body.given()
    for name in ("name", "description", "admin_state_up", "device_id", "device_owner"):
        if name in changes:
            setattr(port, name, changes[name])
    if "binding:host_id" in changes:
        ctx.authorize("update_port:binding:host_id", port_target(port, network))
        new_host = changes["binding:host_id"] or ""
        if new_host != port.host:
            _move(ctx, port, new_host)
    ctx.session.flush()
    return views.port(port, shows_host(ctx))


def _move(ctx: OpContext, port: Port, new_host: str) -> None:
    """Rebind a port (live migration, late binding): both hosts and every host sending
    copies to a tap service on this port get new desired state."""
    services = list(ctx.session.scalars(
        select(TapService.id).where(TapService.port_id == port.id)))
    ctx.touch([port.host, new_host, *hosts.flow_source_hosts(ctx.session, services)])
    reason = f"port {port.id} moved to {new_host or 'no host'}; waiting for its agent"
    for model, column in ((TapService, TapService.port_id), (TapFlow, TapFlow.source_port),
                          (TapMirror, TapMirror.port_id)):
        ctx.session.execute(sql_update(model).where(column == port.id)
                            .values(status="DOWN", status_reason=reason)
                            .execution_options(synchronize_session=False))
    port.host = new_host


def delete(ctx: OpContext, port_id: str) -> None:
    port, network = visible(ctx, port_id, lock=True)
    ctx.authorize("delete_port", port_target(port, network))
    delete_dependents(ctx, [port.id])
    ctx.session.execute(sql_delete(Port).where(Port.id == port.id))


def delete_dependents(ctx: OpContext, port_ids: list[str]) -> None:
    """Remove the tap services (with their flows), tap flows and tap mirrors on these
    ports, and record every host whose desired state loses something."""
    session = ctx.session
    services = list(session.scalars(select(TapService.id).where(TapService.port_id.in_(port_ids))))
    # Ids are read first: MySQL cannot DELETE from a table it selects from in a subquery.
    flows = list(session.scalars(select(TapFlow.id).where(or_(
        TapFlow.source_port.in_(port_ids), TapFlow.tap_service_id.in_(services)))))
    flow_services = set(session.scalars(select(TapFlow.tap_service_id).where(
        TapFlow.source_port.in_(port_ids))))
    ctx.touch(hosts.port_hosts(session, port_ids))
    ctx.touch(hosts.flow_source_hosts(session, services))
    ctx.touch(hosts.service_hosts(session, flow_services))
    session.execute(sql_delete(TapFlow).where(TapFlow.id.in_(flows))
                    .execution_options(synchronize_session=False))
    session.execute(sql_delete(TapService).where(TapService.id.in_(services))
                    .execution_options(synchronize_session=False))
    mirrors = select(TapMirror.id).where(TapMirror.port_id.in_(port_ids))
    session.execute(sql_delete(TapMirrorTunnel).where(TapMirrorTunnel.mirror_id.in_(mirrors))
                    .execution_options(synchronize_session=False))
    session.execute(sql_delete(TapMirror).where(TapMirror.port_id.in_(port_ids))
                    .execution_options(synchronize_session=False))
