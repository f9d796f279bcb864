"""Tenant isolation: who owns a new resource, who sees a port, who may monitor it."""
from __future__ import annotations

from sqlalchemy import or_, select, true

from taas.api.auth import Caller
from taas.api.errors import forbidden, resource_not_found
from taas.api.runtime import OpContext
from taas.db.models import Network, Port


def owner_for_create(ctx: OpContext, requested: str | None, rule: str) -> str:
    """The project a new resource belongs to; only admins may name another project.

    Enforced here and not only by policy, so no policy file can let a tenant create
    resources in someone else's project.
    """
    project = requested or ctx.caller.project_id
    if project != ctx.caller.project_id and not ctx.caller.is_admin:
        raise forbidden("Only an admin may create a resource for another project "
                        f"(project_id {project} is not yours).")
    ctx.authorize(rule, {"project_id": project})
    return project


def network_scope(caller: Caller):
    """Networks a caller sees: its own and shared ones."""
    if caller.is_admin:
        return true()
    return or_(Network.project_id == caller.project_id, Network.shared.is_(True))


def port_scope(caller: Caller):
    """Ports a caller sees: its own, and every port on its networks (needs a join on Network)."""
    if caller.is_admin:
        return true()
    return or_(Port.project_id == caller.project_id, Network.project_id == caller.project_id)


def may_see_port(caller: Caller, port: Port, network: Network) -> bool:
    """The same rule as port_scope, for a row already loaded."""
    return caller.is_admin or caller.project_id in (port.project_id, network.project_id)


def port_target(port: Port, network: Network) -> dict:
    return {"project_id": port.project_id, "network_project_id": network.project_id}


def may_monitor(caller: Caller, port: Port, network: Network) -> bool:
    """A tenant monitors any port of its own (unshared) networks, or a port it created on a
    shared network. Owning a shared network gives no right to tap the other tenants'
    ports on it: that was a gap of the reference (a network owner could tap them)."""
    if caller.is_admin:
        return True
    mine = caller.project_id
    if network.shared:
        return port.project_id == mine
    return network.project_id == mine


def monitorable_port(ctx: OpContext, port_id: str) -> Port:
    """The port, share-locked until commit so its binding cannot move under our feet.

    404 PortNotFound if the caller cannot see it at all; 403 PortDoesNotBelongToTenant if
    it can see it but may not monitor it.
    """
    row = ctx.session.execute(
        select(Port, Network).join(Network, Network.id == Port.network_id)
        .where(Port.id == port_id).with_for_update(read=True, of=Port)).first()
    if row is None or not may_see_port(ctx.caller, *row):
        raise resource_not_found("Port", port_id)
    port, network = row
    if not may_monitor(ctx.caller, port, network):
        raise forbidden(f"Port {port_id} does not belong to your project: you may monitor "
                        "ports of your own networks and ports you created on shared "
                        "networks.", "PortDoesNotBelongToTenant")
    return port
