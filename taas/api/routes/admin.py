"""Quota and agent routes: Neutron's quota API for the TaaS resources, the agents list."""
from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from taas.api.auth import Caller
from taas.api.deps import authenticated, runtime
from taas.api.errors import not_found
from taas.api.ops import admin
from taas.api.runtime import Runtime
from taas.api.schemas.admin import (AgentList, AgentResponse, QuotaDetailResponse, QuotaList,
                                    QuotaResponse, QuotaUpdateRequest)
from taas.api.schemas.common import error_responses, storable

router = APIRouter(tags=["admin"])


def project_id(project_id: str) -> str:
    if not storable(project_id):
        raise not_found("HTTPNotFound", "No such project")
    return project_id


@router.get("/v2.0/quotas", response_model=QuotaList, operation_id="list_quotas",
            summary="List projects with non-default quotas (admin)",
            responses=error_responses(401, 403))
def list_quotas(caller: Caller = Depends(authenticated), rt: Runtime = Depends(runtime)):
    return JSONResponse(rt.read(caller, admin.list_quotas))


@router.get("/v2.0/quotas/{project_id}", response_model=QuotaResponse,
            operation_id="show_quota", summary="Show a project's quota",
            responses=error_responses(401, 403, 404))
def show_quota(caller: Caller = Depends(authenticated), project: str = Depends(project_id),
               rt: Runtime = Depends(runtime)):
    return JSONResponse(rt.read(caller, lambda ctx: admin.show_quota(ctx, project)))


@router.get("/v2.0/quotas/{project_id}/details", response_model=QuotaDetailResponse,
            operation_id="show_quota_details", summary="Show a project's quota and usage",
            responses=error_responses(401, 403, 404))
def show_quota_details(caller: Caller = Depends(authenticated),
                       project: str = Depends(project_id), rt: Runtime = Depends(runtime)):
    return JSONResponse(rt.read(caller, lambda ctx: admin.show_quota_detail(ctx, project)))


@router.put("/v2.0/quotas/{project_id}", response_model=QuotaResponse,
            operation_id="update_quota", summary="Change a project's quota (admin)",
            responses=error_responses(400, 401, 403, 404))
def update_quota(body: QuotaUpdateRequest, caller: Caller = Depends(authenticated),
                 project: str = Depends(project_id), rt: Runtime = Depends(runtime)):
    return JSONResponse(rt.write(caller, lambda ctx: admin.update_quota(ctx, project, body.quota),
                                 projects=[project]))


@router.delete("/v2.0/quotas/{project_id}", status_code=204, response_class=Response,
               operation_id="delete_quota", summary="Reset a project's quota (admin)",
               responses=error_responses(401, 403, 404))
def delete_quota(caller: Caller = Depends(authenticated), project: str = Depends(project_id),
                 rt: Runtime = Depends(runtime)):
    rt.write(caller, lambda ctx: admin.delete_quota(ctx, project))
    return Response(status_code=204)


@router.get("/v2.0/agents", response_model=AgentList, operation_id="list_agents",
            summary="List TaaS agents (admin)", responses=error_responses(401, 403))
def list_agents(caller: Caller = Depends(authenticated), rt: Runtime = Depends(runtime)):
    return JSONResponse(rt.read(caller, admin.list_agents))


@router.get("/v2.0/agents/{host}", response_model=AgentResponse, operation_id="show_agent",
            summary="Show one TaaS agent (admin)", responses=error_responses(401, 403, 404))
def show_agent(host: str, caller: Caller = Depends(authenticated),
               rt: Runtime = Depends(runtime)):
    if not storable(host):
        raise not_found("AgentNotFound", "No such agent")
    return JSONResponse(rt.read(caller, lambda ctx: admin.show_agent(ctx, host)))
