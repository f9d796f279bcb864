"""Small helpers shared by the TaaS resource operations."""
from __future__ import annotations

from sqlalchemy import select, true

from taas.api.errors import NeutronError, conflict, resource_not_found
from taas.api.runtime import OpContext
from taas.api.schemas.common import Body
from taas.db.quotas import QuotaExceeded


def owned_scope(ctx: OpContext, model):
    """Rows of `model` the caller may list: all for an admin, else its project's."""
    return true() if ctx.caller.is_admin else model.project_id == ctx.caller.project_id


def visible_owned(ctx: OpContext, model, resource_id: str, kind: str,
                  lock: str | None = None):
    """The row if the caller may see it, else 404 `<kind>NotFound`; lock is "share" or
    "update". The policy rule checked is get_<snake kind>."""
    stmt = select(model).where(model.id == resource_id, owned_scope(ctx, model))
    if lock:
        stmt = stmt.with_for_update(read=lock == "share")
    row = ctx.session.scalar(stmt)
    rule = "get_" + "".join(f"_{c.lower()}" if c.isupper() else c for c in kind).lstrip("_")
    if row is None or not ctx.allowed(rule, {"project_id": row.project_id}):
        raise resource_not_found(kind, resource_id)
    return row


def apply_name_update(row, body: Body) -> None:
    """PUT may change only name and description (the schemas refuse everything else)."""
    for name, value in body.given().items():
        setattr(row, name, value)


def over_quota(exc: QuotaExceeded) -> NeutronError:
    return conflict("OverQuota", str(exc))


def contended(kind: str) -> NeutronError:
    return conflict("Conflict", f"Too many concurrent requests competed for {kind} ids; "
                    "retry the request.")
