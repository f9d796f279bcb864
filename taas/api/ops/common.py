"""Small helpers shared by the TaaS resource operations."""
from __future__ import annotations

from taas.api.errors import NeutronError, conflict
from taas.api.schemas.common import Body
from taas.db.quotas import QuotaExceeded


def apply_name_update(row, body: Body) -> None:
    """PUT may change only name and description (the schemas refuse everything else)."""
    for name, value in body.given().items():
        setattr(row, name, value)


def over_quota(exc: QuotaExceeded) -> NeutronError:
    return conflict("OverQuota", str(exc))


def contended(kind: str) -> NeutronError:
    return conflict("Conflict", f"Too many concurrent requests competed for {kind} ids; "
                    "retry the request.")
