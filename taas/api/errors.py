"""Neutron-style errors and the handlers that turn every failure into a NeutronError body."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

LOG = logging.getLogger(__name__)


class NeutronError(Exception):
    """An API error: HTTP status, Neutron exception type name and a human message."""

    def __init__(self, status: int, type_: str, message: str):
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message


def bad_request(message: str, type_: str = "HTTPBadRequest") -> NeutronError:
    return NeutronError(400, type_, message)


def not_authenticated(message: str = "Authentication required") -> NeutronError:
    return NeutronError(401, "HTTPUnauthorized", message)


def forbidden(message: str, type_: str = "PolicyNotAuthorized") -> NeutronError:
    return NeutronError(403, type_, message)


def not_found(type_: str, message: str) -> NeutronError:
    return NeutronError(404, type_, message)


def conflict(type_: str, message: str) -> NeutronError:
    return NeutronError(409, type_, message)


def resource_not_found(kind: str, resource_id: str) -> NeutronError:
    """404 <Kind>NotFound, e.g. resource_not_found("TapService", id)."""
    words = "".join(" " + c.lower() if c.isupper() else c for c in kind).strip()
    return not_found(f"{kind}NotFound", f"{words.capitalize()} {resource_id} could not be found.")


def error_body(type_: str, message: str) -> dict:
    return {"NeutronError": {"type": type_, "message": message, "detail": ""}}


def error_response(status: int, type_: str, message: str, headers=None) -> JSONResponse:
    return JSONResponse(error_body(type_, message), status_code=status, headers=headers)


_HTTP_TYPES = {400: "HTTPBadRequest", 401: "HTTPUnauthorized", 403: "HTTPForbidden",
               404: "HTTPNotFound", 405: "HTTPMethodNotAllowed", 406: "HTTPNotAcceptable",
               409: "HTTPConflict", 413: "HTTPRequestEntityTooLarge",
               415: "HTTPUnsupportedMediaType"}


def _location(loc) -> str:
    # ("body", "tap_service", "direction") -> "direction"; ("query", "limit") -> "limit".
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    if len(parts) > 1:
        parts = parts[1:]  # drop the envelope key ("tap_service")
    return ".".join(parts)


def describe_validation_errors(errors) -> str:
    """One readable sentence out of pydantic's error list."""
    unknown, messages = [], []
    for err in errors:
        kind, loc = err.get("type"), err.get("loc", ())
        if kind == "extra_forbidden":
            unknown.append(str(loc[-1]))
        elif kind == "json_invalid":
            return f"Malformed JSON in request body: {err.get('ctx', {}).get('error', '')}"
        elif kind == "missing" and tuple(loc) == ("body",):
            return "Resource body required"
        elif kind == "missing":
            where = _location(loc)
            messages.append(f"Required attribute '{where}' not specified" if where
                            else "Resource body required")
        else:
            msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
            value = err.get("input")
            if isinstance(value, (str, int, float)) and not isinstance(value, bool) \
                    and len(str(value)) <= 64 and kind != "value_error":
                msg += f" (got {value!r})"
            where = _location(loc)
            messages.append(f"Invalid input for {where}: {msg}" if where
                            else f"Invalid request body: {msg}")
    if unknown:
        messages.insert(0, "Unrecognized attribute(s) " + ", ".join(f"'{u}'" for u in unknown))
    return "; ".join(messages) if messages else "Invalid input for operation"


def _allowed_methods(request: Request) -> list[str]:
    """Methods of every route on this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", ()) or ())
    return sorted(methods - {"HEAD"})


def install(app: FastAPI) -> None:
    """Register handlers so that no request ends with a bare 5xx or a traceback body."""

    @app.exception_handler(NeutronError)
    async def _neutron(_request: Request, exc: NeutronError):
        return error_response(exc.status, exc.type, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError):
        return error_response(400, "HTTPBadRequest", describe_validation_errors(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        type_ = _HTTP_TYPES.get(exc.status_code, "HTTPError")
        message = exc.detail if isinstance(exc.detail, str) else type_
        headers = getattr(exc, "headers", None)
        if exc.status_code == 404 and message == "Not Found":
            message = "The resource could not be found."
        if exc.status_code == 405:
            allowed = _allowed_methods(request)
            message = f"Method {request.method} not allowed here; use {', '.join(allowed)}."
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
        return error_response(exc.status_code, type_, message, headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, exc: IntegrityError):
        # Validation runs first; what remains is a race with a concurrent change (a port
        # deleted while a tap flow is created on it, ...). Never echo SQL to the client.
        LOG.info("integrity error: %s", exc.orig)
        return error_response(409, "Conflict", "The request conflicts with a concurrent "
                              "change of the same resources; retry it.")

    @app.exception_handler(DataError)
    async def _data(_request: Request, exc: DataError):
        LOG.info("data error: %s", exc.orig)
        return error_response(400, "HTTPBadRequest", "Invalid input for operation: a value "
                              "is out of range or too long.")

    @app.exception_handler(OperationalError)
    async def _operational(_request: Request, exc: OperationalError):
        LOG.error("database unavailable: %s", exc.orig)
        return error_response(503, "ServiceUnavailable", "The database is unavailable or "
                              "busy; retry later.")

    @app.exception_handler(SQLAlchemyError)
    async def _database(_request: Request, exc: SQLAlchemyError):
        LOG.exception("database error")
        return error_response(500, "DatabaseError", "Request failed: a database error "
                              "occurred; the operator can find details in the server log.")

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception):
        LOG.exception("unexpected error")
        return error_response(500, "InternalServerError", "Request failed: an internal error "
                              "occurred; the operator can find details in the server log.")
