"""API shapes of quotas, agents, version discovery and extensions."""
from __future__ import annotations

from pydantic import BaseModel

from taas.api.schemas.common import Body, Link, envelope, integer

Limit = integer(-1, 2**31 - 1)


# --------------------------------------------------------------------------- quotas
class QuotaUpdate(Body):
    tap_service: Limit = None
    tap_flow: Limit = None
    tap_mirror: Limit = None


class Quota(BaseModel):
    tap_service: int
    tap_flow: int
    tap_mirror: int


class ProjectQuota(Quota):
    project_id: str
    tenant_id: str


class QuotaUsage(BaseModel):
    limit: int
    used: int
    reserved: int = 0


class QuotaDetail(BaseModel):
    tap_service: QuotaUsage
    tap_flow: QuotaUsage
    tap_mirror: QuotaUsage


QuotaUpdateRequest = envelope("QuotaUpdateRequest", "quota", QuotaUpdate)
QuotaResponse = envelope("QuotaResponse", "quota", Quota, strict=False)
QuotaDetailResponse = envelope("QuotaDetailResponse", "quota", QuotaDetail, strict=False)


class QuotaList(BaseModel):
    quotas: list[ProjectQuota]


# --------------------------------------------------------------------------- agents
class Agent(BaseModel):
    id: str
    host: str
    alive: bool
    last_heartbeat: str | None
    tunnel_ip: str | None
    generation: int
    applied_generation: int | None


AgentResponse = envelope("AgentResponse", "agent", Agent, strict=False)


class AgentList(BaseModel):
    agents: list[Agent]


# --------------------------------------------------------------------------- discovery
class Version(BaseModel):
    id: str
    status: str
    links: list[Link]


class VersionList(BaseModel):
    versions: list[Version]


class ApiResource(BaseModel):
    name: str
    collection: str
    links: list[Link]


class VersionDetail(BaseModel):
    version: Version
    resources: list[ApiResource]


class Extension(BaseModel):
    name: str
    alias: str
    description: str
    updated: str
    links: list[Link]


ExtensionResponse = envelope("ExtensionResponse", "extension", Extension, strict=False)


class ExtensionList(BaseModel):
    extensions: list[Extension]
