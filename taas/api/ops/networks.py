"""Networks: create with a server-allocated VNI, show, list, update, delete when empty."""
from __future__ import annotations

from sqlalchemy import exists, literal, select
from starlette.datastructures import URL

from taas.api import views
from taas.api.errors import conflict, resource_not_found
from taas.api.listing import Attr, ListQuery, list_collection
from taas.api.ops.common import contended
from taas.api.ops.access import network_scope, owner_for_create
from taas.api.runtime import OpContext
from taas.api.schemas.inventory import NetworkCreate, NetworkUpdate
from taas.db.allocate import IdsContended, IdsExhausted, allocate
from taas.db.models import Network, Port

ATTRS = {
    "id": Attr(Network.id), "name": Attr(Network.name),
    "description": Attr(Network.description),
    "project_id": Attr(Network.project_id), "tenant_id": Attr(Network.project_id),
    "shared": Attr(Network.shared, bool), "admin_state_up": Attr(Network.admin_state_up, bool),
    "status": Attr(literal("ACTIVE")),
    "segmentation_id": Attr(Network.segmentation_id, int),
    "provider:segmentation_id": Attr(Network.segmentation_id, int),
    "provider:network_type": Attr(literal("vxlan")),
}


def target(network: Network) -> dict:
    return {"project_id": network.project_id, "shared": network.shared}


def visible(ctx: OpContext, network_id: str, lock: bool = False) -> Network:
    """The network if the caller may see it, else 404 NetworkNotFound."""
    stmt = select(Network).where(Network.id == network_id, network_scope(ctx.caller))
    if lock:
        stmt = stmt.with_for_update()
    network = ctx.session.scalar(stmt)
    if network is None or not ctx.allowed("get_network", target(network)):
        raise resource_not_found("Network", network_id)
    return network


def create(ctx: OpContext, body: NetworkCreate) -> dict:
    project = owner_for_create(ctx, body.owner(), "create_network")
    if body.shared:
        ctx.authorize("create_network:shared", {"project_id": project})
    network = Network(project_id=project, name=body.name, description=body.description,
                      shared=body.shared, admin_state_up=body.admin_state_up)

    def insert(segmentation_id: int) -> None:
        network.segmentation_id = segmentation_id
        ctx.session.add(network)
        ctx.session.flush()

    first, last = ctx.settings.segmentation_id_range
    try:
        allocate(ctx.session, Network.segmentation_id, first, last, insert)
    except IdsExhausted:
        raise conflict("NoNetworkAvailable", "Unable to create the network: every "
                       f"segmentation id of {first}:{last} is in use.") from None
    except IdsContended:
        raise contended("segmentation") from None
    return views.network(network)


def show(ctx: OpContext, network_id: str) -> dict:
    return views.network(visible(ctx, network_id))


def list_(ctx: OpContext, query: ListQuery, url: URL) -> dict:
    stmt = select(Network).where(network_scope(ctx.caller))
    return list_collection(
        ctx.session, stmt, Network.id, ATTRS, query, url, "networks",
        render=lambda row: views.network(row[0]),
        allowed=lambda row: ctx.allowed("get_network", target(row[0])))


def update(ctx: OpContext, network_id: str, body: NetworkUpdate) -> dict:
    network = visible(ctx, network_id, lock=True)
    ctx.authorize("update_network", target(network))
    changes = body.given()
    if "shared" in changes:
        ctx.authorize("update_network:shared", target(network))
        if not changes["shared"] and ctx.session.scalar(select(exists().where(
                Port.network_id == network.id, Port.project_id != network.project_id))):
            raise conflict("InvalidSharedSetting", f"Unable to reconfigure sharing settings "
                           f"for network {network.id}: other projects use it.")
    for name in ("name", "description", "admin_state_up", "shared"):
        if name in changes:
            setattr(network, name, changes[name])
    ctx.session.flush()
    return views.network(network)


def delete(ctx: OpContext, network_id: str) -> None:
    network = visible(ctx, network_id, lock=True)
    ctx.authorize("delete_network", target(network))
    if ctx.session.scalar(select(exists().where(Port.network_id == network.id))):
        raise conflict("NetworkInUse", f"Unable to complete operation on network "
                       f"{network.id}. There are one or more ports still in use on the network.")
    ctx.session.delete(network)
    ctx.session.flush()
