"""FastAPI dependencies: the runtime, the authenticated caller, list and show parameters."""
from typing import Annotated, Literal

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPBasic
from pydantic import Field

from taas.api.auth import Caller
from taas.api.errors import not_authenticated, resource_not_found
from taas.api.listing import MAX_INT, ListQuery, parse_query
from taas.api.runtime import Runtime
from taas.api.schemas.common import NO_NUL, storable

QueryText = Annotated[str, Field(pattern=NO_NUL)]

# Declared for the OpenAPI document; the actual check reads the headers itself.
_token = APIKeyHeader(name="X-Auth-Token", auto_error=False, scheme_name="token",
                      description="A token from the tokens file, or a Keystone token.")
_basic = HTTPBasic(auto_error=False, scheme_name="basic",
                   description="A user of the tokens file (tokens strategy only).")


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def authenticated(request: Request, _token_value: str | None = Depends(_token),
                  _basic_value=Depends(_basic)) -> Caller:
    """The caller, or 401. Sync on purpose: Keystone validation blocks, so it runs in the
    thread pool."""
    rt: Runtime = request.app.state.runtime
    identity = rt.authenticator.authenticate(request.headers)
    if identity is None:
        raise not_authenticated("Authentication required: send a valid X-Auth-Token header "
                                "or HTTP Basic credentials.")
    return Caller(user=identity.user, project_id=identity.project_id, roles=identity.roles,
                  is_admin=rt.policy.is_admin(identity))


def list_params_for(attributes: list[str]):
    """The list-query dependency of one collection: sort_key is one of its attributes."""
    sortable = Literal[tuple(attributes)]  # type: ignore[valid-type]

    def list_params(
            request: Request,
            fields: list[QueryText] = Query([], description="Attributes to return."),
            limit: int | None = Query(None, ge=0, le=MAX_INT, description="Page size."),
            marker: QueryText | None = Query(None, description="Last id of the previous page."),
            sort_key: list[sortable] = Query([], description="Attributes to sort by."),
            sort_dir: list[Literal["asc", "desc"]] = Query([], description="One per sort_key."),
            page_reverse: bool = Query(False, description="Page backwards from the marker."),
    ) -> ListQuery:
        """Paging and projection; every other query parameter is an attribute filter."""
        return parse_query(request.query_params.multi_items())
    return list_params


def show_fields(fields: list[QueryText] = Query([], description="Attributes to return.")
                ) -> list[str]:
    return [f for value in fields for f in value.split(",") if f]


def resource_id(kind: str):
    """A path-id check: ids the database cannot even compare (NUL bytes) are simply absent."""
    def check(id: str) -> str:
        if not storable(id):
            raise resource_not_found(kind, repr(id))
        return id
    return check
