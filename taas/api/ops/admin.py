"""Quota management (Neutron's quota API for the TaaS resources) and the agents list."""
from __future__ import annotations

from taas.api import views
from taas.api.errors import forbidden, not_found
from taas.api.runtime import OpContext
from taas.api.schemas.admin import QuotaUpdate
from taas.db import agents, quotas

# An agent counts as alive while its last heartbeat is younger than this many intervals.
AGENT_DOWN_INTERVALS = 3


def _check_quota_access(ctx: OpContext, rule: str, project_id: str) -> None:
    if not ctx.allowed(rule, {"project_id": project_id}):
        raise forbidden(f"Not authorized to access the quota of project {project_id}.")


def list_quotas(ctx: OpContext) -> dict:
    _check_quota_access(ctx, "get_quotas", ctx.caller.project_id)
    result = []
    for project_id, values in quotas.overrides(ctx.session).items():
        effective = {**quotas.defaults(ctx.settings), **values}
        result.append({"project_id": project_id, "tenant_id": project_id, **effective})
    return {"quotas": result}


def show_quota(ctx: OpContext, project_id: str) -> dict:
    _check_quota_access(ctx, "get_quota", project_id)
    return {"quota": quotas.limits(ctx.session, ctx.settings, project_id)}


def show_quota_detail(ctx: OpContext, project_id: str) -> dict:
    _check_quota_access(ctx, "get_quota", project_id)
    limits = quotas.limits(ctx.session, ctx.settings, project_id)
    used = quotas.usage(ctx.session, project_id)
    return {"quota": {name: {"limit": limit, "used": used[name], "reserved": 0}
                      for name, limit in limits.items()}}


def update_quota(ctx: OpContext, project_id: str, body: QuotaUpdate) -> dict:
    _check_quota_access(ctx, "update_quota", project_id)
    values = {k: v for k, v in body.given().items() if v is not None}
    quotas.set_limits(ctx.session, project_id, values)
    return {"quota": quotas.limits(ctx.session, ctx.settings, project_id)}


def delete_quota(ctx: OpContext, project_id: str) -> None:
    _check_quota_access(ctx, "delete_quota", project_id)
    quotas.reset_limits(ctx.session, project_id)


def _agent_view(info: agents.AgentInfo) -> dict:
    return {"id": info.host, "host": info.host, "alive": info.alive,
            "last_heartbeat": views.timestamp(info.last_heartbeat),
            "tunnel_ip": info.tunnel_ip, "generation": info.generation,
            "applied_generation": info.applied_generation}


def list_agents(ctx: OpContext) -> dict:
    _check_agent_access(ctx)
    down_time = AGENT_DOWN_INTERVALS * ctx.settings.report_interval
    return {"agents": [_agent_view(a) for a in agents.list_agents(ctx.session, down_time)]}


def show_agent(ctx: OpContext, host: str) -> dict:
    _check_agent_access(ctx)
    down_time = AGENT_DOWN_INTERVALS * ctx.settings.report_interval
    found = agents.list_agents(ctx.session, down_time, host=host)
    if not found:
        raise not_found("AgentNotFound", f"Agent {host} could not be found.")
    return {"agent": _agent_view(found[0])}


def _check_agent_access(ctx: OpContext) -> None:
    if not ctx.allowed("get_agent", {"project_id": ctx.caller.project_id}):
        raise forbidden("rule:get_agent is disallowed by policy")
