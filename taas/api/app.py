"""The FastAPI application factory: wires settings, database, auth, policy and routes."""
from __future__ import annotations

import functools
import json
import logging

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from oslo_config import cfg
from sqlalchemy import Engine

from taas import config
from taas.api import errors
from taas.api.auth import make_authenticator
from taas.api import policy
from taas.api.policy import Policy
from taas.api.routes import admin, discovery, resources
from taas.api.runtime import Notifier, Runtime
from taas.config import Settings
from taas.db.engine import Database, make_engine
from taas.db.migrate import upgrade

LOG = logging.getLogger(__name__)
MAX_BODY_BYTES = 1 << 20  # far above any legitimate request; stops memory abuse early


class BodySizeLimit:
    """Refuse requests that announce a body larger than MAX_BODY_BYTES (413)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            length = dict(scope.get("headers") or ()).get(b"content-length", b"0")
            if not length.isdigit() or int(length) > MAX_BODY_BYTES:
                body = json.dumps(errors.error_body(
                    "HTTPRequestEntityTooLarge",
                    f"Request body larger than {MAX_BODY_BYTES} bytes")).encode()
                await send({"type": "http.response.start", "status": 413,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _default_conf() -> cfg.ConfigOpts:
    """Options with their defaults only (no config files): for tests and embedding."""
    conf = cfg.ConfigOpts()
    config.register_opts(conf)
    policy.register_opts(conf)
    conf(args=[], default_config_files=[], default_config_dirs=[])
    return conf


def _openapi(app: FastAPI):
    """FastAPI's document, minus the 422 responses it adds: validation errors are 400s
    here, and every route declares its NeutronError statuses itself."""
    def build():
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes,
                             description=app.description)
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                operation.get("responses", {}).pop("422", None)
        components = schema.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        app.openapi_schema = schema
        return schema
    return build


@functools.cache
def _api_routes() -> tuple:
    """All API routes, built once per process: building them (pydantic schemas for every
    parameter) dominates app creation, and they hold no per-app state (endpoints reach
    the runtime through request.app.state)."""
    return (*discovery.router.routes, *resources.router().routes, *admin.router.routes)


def create_app(settings: Settings, notifier: Notifier | None = None,
               engine: Engine | None = None, conf: cfg.ConfigOpts | None = None) -> FastAPI:
    """The API app. `notifier.hosts_changed(hosts)` runs after each commit that changes the
    desired state of some hosts; `conf` supplies [oslo_policy] and [keystone_authtoken]."""
    conf = conf or _default_conf()
    engine = engine or make_engine(settings.database_url)
    upgrade(engine)  # idempotent: SQLite works out of the box, servers stay current
    runtime = Runtime(settings=settings, db=Database(engine), policy=Policy(conf),
                      authenticator=make_authenticator(settings, conf), notifier=notifier)
    app = FastAPI(title="Tap-as-a-Service API", version="2.0",
                  description="The Neutron TaaS API (tap services, tap flows, tap mirrors) "
                              "with a minimal network/port inventory, quotas and agents.",
                  docs_url="/docs", redoc_url=None)
    app.state.runtime = runtime
    errors.install(app)
    app.router.routes.extend(_api_routes())
    app.openapi = _openapi(app)
    app.add_middleware(BodySizeLimit)
    return app
