"""Version discovery (unauthenticated, what keystoneauth probes first) and extensions."""
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from taas.api.deps import authenticated
from taas.api.errors import not_found
from taas.api.schemas.admin import ExtensionList, ExtensionResponse, VersionDetail, VersionList
from taas.api.schemas.common import error_responses

UPDATED = "2026-01-01T00:00:00-00:00"
EXTENSIONS = [
    ("taas", "Neutron Tap as a Service",
     "Tap services and tap flows: copy ports' traffic to a monitoring port."),
    ("taas-vlan-filter", "VLAN filtering for Neutron Tap as a Service",
     "The vlan_filter attribute of tap flows."),
    ("tap-mirror", "Tap Mirror",
     "Tap mirrors: copy a port's traffic to a remote GRE or ERSPAN v1 endpoint."),
    ("tap-mirror-both-direction", "Tap Mirror both directions",
     "The BOTH direction of tap mirrors."),
]
COLLECTIONS = [("network", "networks", "networks"), ("port", "ports", "ports"),
               ("tap_service", "tap_services", "taas/tap_services"),
               ("tap_flow", "tap_flows", "taas/tap_flows"),
               ("tap_mirror", "tap_mirrors", "taas/tap_mirrors"),
               ("quota", "quotas", "quotas"), ("agent", "agents", "agents")]

router = APIRouter(tags=["discovery"])


def _v2(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/v2.0/"


def _version(request: Request) -> dict:
    return {"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": _v2(request)}]}


@router.get("/", response_model=VersionList, operation_id="list_versions",
            summary="API versions (no authentication)")
def versions(request: Request):
    return JSONResponse({"versions": [_version(request)]})


def version_detail(request: Request):
    base = _v2(request)
    resources = [{"name": name, "collection": collection,
                  "links": [{"rel": "self", "href": base + path}]}
                 for name, collection, path in COLLECTIONS]
    return JSONResponse({"version": _version(request), "resources": resources})


# Both spellings answer directly: keystoneauth may probe either, and a redirect would
# lose the body it needs.
router.add_api_route("/v2.0", version_detail, methods=["GET"], response_model=VersionDetail,
                     operation_id="show_version", summary="Version v2.0 (no authentication)")
router.add_api_route("/v2.0/", version_detail, methods=["GET"], response_model=VersionDetail,
                     operation_id="show_version_slash", include_in_schema=False)


def _extension(alias: str, name: str, description: str) -> dict:
    return {"alias": alias, "name": name, "description": description, "updated": UPDATED,
            "links": []}


@router.get("/v2.0/extensions", response_model=ExtensionList, operation_id="list_extensions",
            summary="List API extensions", responses=error_responses(401),
            dependencies=[Depends(authenticated)])
def extensions():
    return JSONResponse({"extensions": [_extension(*e) for e in EXTENSIONS]})


@router.get("/v2.0/extensions/{alias}", response_model=ExtensionResponse,
            operation_id="show_extension", summary="Show an API extension",
            responses=error_responses(401, 404), dependencies=[Depends(authenticated)])
def extension(alias: str):
    for entry in EXTENSIONS:
        if entry[0] == alias:
            return JSONResponse({"extension": _extension(*entry)})
    raise not_found("ExtensionNotFound", f"Extension with alias {alias} does not exist")
