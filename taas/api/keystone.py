"""Keystone tokens via keystonemiddleware's auth_token, called as a WSGI filter per request.

auth_token is WSGI-only; rather than bridging the whole ASGI app, each request's auth
headers go through the filter in a minimal WSGI environ, and the identity headers it sets
(X-Identity-Status, X-Project-Id, X-Roles, X-User-Id) are read back. Best effort: this
path needs a real Keystone and is not exercised by the test suite.
"""
from __future__ import annotations

import io
import logging
from typing import Mapping

from taas.api.auth import Identity

LOG = logging.getLogger(__name__)


def _capture(environ, start_response):
    """The innermost WSGI app: answers 200 and leaves the headers in the environ."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b""]


class KeystoneAuth:
    def __init__(self, conf):
        from keystonemiddleware import auth_token
        # The filter reads [keystone_authtoken] from our ConfigOpts.
        self._filter = auth_token.AuthProtocol(_capture, {"oslo_config_config": conf})

    def authenticate(self, headers: Mapping[str, str]) -> Identity | None:
        token = headers.get("x-auth-token")
        if not token:
            return None
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": "/", "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "wsgi.errors": io.StringIO(),
            "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": False,
            "wsgi.run_once": False, "HTTP_X_AUTH_TOKEN": token,
        }
        status = []
        try:
            b"".join(self._filter(environ, lambda s, h, exc_info=None: status.append(s)))
        except Exception:  # Keystone unreachable: the caller is simply not authenticated
            LOG.exception("keystone token validation failed")
            return None
        if not status or not status[0].startswith("200"):
            return None
        if environ.get("HTTP_X_IDENTITY_STATUS") != "Confirmed":
            return None
        project = environ.get("HTTP_X_PROJECT_ID")
        if not project:
            return None  # unscoped or domain-scoped tokens cannot own resources
        roles = tuple(r.strip().lower() for r in environ.get("HTTP_X_ROLES", "").split(",")
                      if r.strip())
        return Identity(user=environ.get("HTTP_X_USER_ID", ""), project_id=project, roles=roles)
