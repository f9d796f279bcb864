"""Neutron CRUD routes (POST 201, GET, PUT 200, DELETE 204) built from one description."""
# No `from __future__ import annotations`: FastAPI must see the real body classes that the
# closures below close over.
import dataclasses
from types import ModuleType

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from taas.api.auth import Caller
from taas.api.deps import authenticated, list_params_for, resource_id, runtime, show_fields
from taas.api.listing import ListQuery, project
from taas.api.ops import networks, ports, tap_flows, tap_mirrors, tap_services
from taas.api.runtime import Runtime
from taas.api.schemas import inventory, taas
from taas.api.schemas.common import error_responses


@dataclasses.dataclass(frozen=True)
class Resource:
    key: str                 # "tap_service": the envelope key
    collection: str          # "tap_services"
    path: str                # "/v2.0/taas/tap_services"
    kind: str                # "TapService": names the 404 error type
    ops: ModuleType          # create/show/list_/update/delete(ctx, ...)
    create_request: type[BaseModel]
    update_request: type[BaseModel]
    response: type[BaseModel]
    list_response: type[BaseModel]
    tag: str


RESOURCES = [
    Resource("network", "networks", "/v2.0/networks", "Network", networks,
             inventory.NetworkCreateRequest, inventory.NetworkUpdateRequest,
             inventory.NetworkResponse, inventory.NetworkList, "inventory"),
    Resource("port", "ports", "/v2.0/ports", "Port", ports,
             inventory.PortCreateRequest, inventory.PortUpdateRequest,
             inventory.PortResponse, inventory.PortList, "inventory"),
    Resource("tap_service", "tap_services", "/v2.0/taas/tap_services", "TapService",
             tap_services, taas.TapServiceCreateRequest, taas.TapServiceUpdateRequest,
             taas.TapServiceResponse, taas.TapServiceList, "taas"),
    Resource("tap_flow", "tap_flows", "/v2.0/taas/tap_flows", "TapFlow", tap_flows,
             taas.TapFlowCreateRequest, taas.TapFlowUpdateRequest,
             taas.TapFlowResponse, taas.TapFlowList, "taas"),
    Resource("tap_mirror", "tap_mirrors", "/v2.0/taas/tap_mirrors", "TapMirror", tap_mirrors,
             taas.TapMirrorCreateRequest, taas.TapMirrorUpdateRequest,
             taas.TapMirrorResponse, taas.TapMirrorList, "taas"),
]

# Resources counted by quotas: their project's lock row is created up front.
_QUOTA_KEYS = {"tap_service", "tap_flow", "tap_mirror"}


def add_routes(router: APIRouter, res: Resource) -> None:
    item_path = res.path + "/{id}"
    words = res.key.replace("_", " ")
    create_request, update_request = res.create_request, res.update_request
    check_id = resource_id(res.kind)
    attrs = getattr(res.ops, "ADMIN_ATTRS", res.ops.ATTRS)
    list_params = list_params_for([name for name, attr in attrs.items() if attr.sortable])

    @router.post(res.path, status_code=201, response_model=res.response, tags=[res.tag],
                 operation_id=f"create_{res.key}", summary=f"Create a {words}",
                 responses=error_responses(400, 401, 403, 404, 409))
    def create(body: create_request, caller: Caller = Depends(authenticated),
               rt: Runtime = Depends(runtime)):
        spec = getattr(body, res.key)
        projects = [spec.owner() or caller.project_id] if res.key in _QUOTA_KEYS else []
        result = rt.write(caller, lambda ctx: res.ops.create(ctx, spec), projects=projects)
        return JSONResponse({res.key: result}, status_code=201)

    @router.get(res.path, response_model=res.list_response, tags=[res.tag],
                operation_id=f"list_{res.collection}", summary=f"List {words}s",
                responses=error_responses(400, 401, 404))
    def list_(request: Request, query: ListQuery = Depends(list_params),
              caller: Caller = Depends(authenticated), rt: Runtime = Depends(runtime)):
        return JSONResponse(rt.read(caller, lambda ctx: res.ops.list_(ctx, query, request.url)))

    @router.get(item_path, response_model=res.response, tags=[res.tag],
                operation_id=f"show_{res.key}", summary=f"Show a {words}",
                responses=error_responses(400, 401, 404))
    def show(caller: Caller = Depends(authenticated), id: str = Depends(check_id),
             fields: list[str] = Depends(show_fields), rt: Runtime = Depends(runtime)):
        item = rt.read(caller, lambda ctx: res.ops.show(ctx, id))
        return JSONResponse({res.key: project(item, fields)})

    @router.put(item_path, response_model=res.response, tags=[res.tag],
                operation_id=f"update_{res.key}", summary=f"Update a {words}",
                responses=error_responses(400, 401, 403, 404, 409))
    def update(body: update_request, caller: Caller = Depends(authenticated),
               id: str = Depends(check_id), rt: Runtime = Depends(runtime)):
        spec = getattr(body, res.key)
        result = rt.write(caller, lambda ctx: res.ops.update(ctx, id, spec))
        return JSONResponse({res.key: result})

    @router.delete(item_path, status_code=204, response_class=Response, tags=[res.tag],
                   operation_id=f"delete_{res.key}", summary=f"Delete a {words}",
                   responses=error_responses(401, 403, 404, 409))
    def delete(caller: Caller = Depends(authenticated), id: str = Depends(check_id),
               rt: Runtime = Depends(runtime)):
        rt.write(caller, lambda ctx: res.ops.delete(ctx, id))
        return Response(status_code=204)


def router() -> APIRouter:
    api = APIRouter()
    for res in RESOURCES:
        add_routes(api, res)
    return api
