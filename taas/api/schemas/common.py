"""Pydantic building blocks shared by every resource: strict bodies, envelopes, errors."""
from __future__ import annotations

import ipaddress
from typing import Annotated, Any, ClassVar

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field,
                      WithJsonSchema, create_model, model_validator)
from pydantic.json_schema import SkipJsonSchema

# Declared in the schema too, so schema-driven clients and fuzzers know NUL is refused.
NO_NUL = r"^[^\x00]*$"
Name = Annotated[str, Field(max_length=255, pattern=NO_NUL)]
Description = Annotated[str, Field(max_length=1024, pattern=NO_NUL)]
ProjectId = Annotated[str, Field(min_length=1, max_length=255, pattern=NO_NUL)]
ResourceId = Annotated[str, Field(min_length=1, max_length=255, pattern=NO_NUL)]



def check_ip(value: str) -> str:
    """An IPv4 or IPv6 address, normalized (2001:DB8::1 -> 2001:db8::1)."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"'{value}' is not a valid IP address") from None


def _json_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("Input should be an integer")
    return value


def integer(minimum: int, maximum: int):
    """An integer as JSON Schema defines it (3 and 3.0, never true/false or 3.5)."""
    return Annotated[int, Field(ge=minimum, le=maximum), BeforeValidator(_json_number)]

IpAddress = Annotated[str, AfterValidator(check_ip), WithJsonSchema(
    {"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]})]


def drop_null_defaults(schema: dict) -> None:
    """Optional attributes of a body default to "absent", not to null: null is refused."""
    for prop in schema.get("properties", {}).values():
        if prop.get("default", 0) is None:
            del prop["default"]


def storable(text: str) -> bool:
    """False for text no database stores faithfully: NUL bytes, lone surrogates."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_text(value: Any, name: str) -> None:
    """Refuse unstorable strings anywhere in a JSON value (PostgreSQL rejects NUL)."""
    if isinstance(value, str):
        if not storable(value):
            raise ValueError(f"{name} contains a NUL byte or invalid Unicode")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, name)
            check_text(item, name)
    elif isinstance(value, list):
        for item in value:
            check_text(item, name)


class Body(BaseModel):
    """A request body: unknown attributes are refused, read-only ones named as such."""
    model_config = ConfigDict(extra="forbid", json_schema_extra=drop_null_defaults)
    read_only: ClassVar[frozenset[str]] = frozenset()
    action: ClassVar[str] = "set"  # "Cannot <action> read-only attribute(s) ..."

    @model_validator(mode="before")
    @classmethod
    def _refuse_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            named = sorted(k for k in data if k in cls.read_only)
            if named:
                raise ValueError(f"Cannot {cls.action} read-only attribute(s) "
                                 + ", ".join(named))
            for key, value in data.items():
                check_text(value, str(key))
        return data

    def given(self) -> dict[str, Any]:
        """Only the attributes the client sent, under their API names."""
        return self.model_dump(exclude_unset=True, by_alias=True)


class OwnedCreate(Body):
    """Create body of a resource owned by a project (project_id and legacy tenant_id)."""
    project_id: ProjectId = None
    # Legacy alias of project_id, accepted but left out of the schema: documenting both
    # would advertise bodies where they differ, which are refused.
    tenant_id: SkipJsonSchema[ProjectId] = None

    @model_validator(mode="after")
    def _same_owner(self):
        if self.project_id and self.tenant_id and self.project_id != self.tenant_id:
            raise ValueError("project_id and tenant_id differ")
        return self

    def owner(self) -> str | None:
        return self.project_id or self.tenant_id


class Public(BaseModel):
    """A response object. Every attribute is optional in the schema because `fields`
    may project any of them away."""
    model_config = ConfigDict(populate_by_name=True)


class OwnedPublic(Public):
    """The attributes every owned resource shows: identity, owner (both spellings), names."""
    id: str = ""
    project_id: str = ""
    tenant_id: str = ""
    name: str = ""
    description: str = ""


class Link(BaseModel):
    rel: str
    href: str


class NeutronErrorBody(BaseModel):
    type: str
    message: str
    detail: str = ""


class NeutronErrorResponse(BaseModel):
    NeutronError: NeutronErrorBody


def envelope(name: str, key: str, model: type[BaseModel], strict: bool = True) -> type[BaseModel]:
    """{"<key>": <model>}: the Neutron wrapping of one object."""
    config = ConfigDict(extra="forbid") if strict else None
    return create_model(name, __config__=config, **{key: (model, ...)})


def collection(name: str, key: str, model: type[BaseModel]) -> type[BaseModel]:
    """{"<key>": [<model>...], "<key>_links": [...]}: a list page and its paging links."""
    return create_model(name, **{key: (list[model], ...),
                                 f"{key}_links": (list[Link] | None, None)})


def error_responses(*statuses: int) -> dict[int, dict]:
    """OpenAPI entries declaring NeutronError bodies for the given statuses."""
    text = {400: "Invalid request", 401: "Not authenticated", 403: "Forbidden",
            404: "Not found", 405: "Method not allowed", 409: "Conflict",
            500: "Internal error", 503: "Database unavailable"}
    return {status: {"model": NeutronErrorResponse, "description": text[status]}
            for status in statuses}
