"""Who is calling: token file, HTTP Basic, noauth or Keystone strategies -> an Identity."""
from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
import logging
import os
import threading
from typing import Mapping, Protocol

import yaml

from taas.config import Settings

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Identity:
    """An authenticated caller, before policy decides what it may do."""
    user: str
    project_id: str
    roles: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Caller:
    """An authenticated caller plus the policy's verdict on whether it is an admin."""
    user: str
    project_id: str
    roles: tuple[str, ...]
    is_admin: bool

    def creds(self) -> dict:
        """Credentials in the shape oslo.policy checks expect."""
        return {"user_id": self.user, "project_id": self.project_id,
                "tenant_id": self.project_id, "roles": list(self.roles),
                "is_admin": self.is_admin}


class Authenticator(Protocol):
    def authenticate(self, headers: Mapping[str, str]) -> Identity | None:
        """The caller named by the request headers, or None when it is not authenticated."""


class NoAuth:
    """Every caller is an admin of one project: explicit opt-in for local demos."""

    def __init__(self, project_id: str):
        self._identity = Identity(user="noauth", project_id=project_id, roles=("admin",))

    def authenticate(self, headers: Mapping[str, str]) -> Identity | None:
        return self._identity


def _identity(name: str, entry: object, where: str) -> Identity:
    if not isinstance(entry, dict) or not isinstance(entry.get("project_id"), str):
        raise ValueError(f"{where}: entry {name!r} needs a project_id string")
    roles = entry.get("roles", ["member"])
    if isinstance(roles, str):
        roles = [roles]
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise ValueError(f"{where}: roles of {name!r} must be a list of strings")
    return Identity(user=str(entry.get("user", name)), project_id=entry["project_id"],
                    roles=tuple(r.lower() for r in roles))


def parse_tokens_file(path: str) -> tuple[dict[str, Identity], dict[str, tuple[str, Identity]]]:
    """(token -> Identity, user name -> (password, Identity)) from the YAML file."""
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping with 'tokens' and/or 'users'")
    tokens = {str(token): _identity(str(token)[:4] + "...", entry, path)
              for token, entry in (data.get("tokens") or {}).items()}
    users = {}
    for name, entry in (data.get("users") or {}).items():
        if not isinstance(entry, dict) or not isinstance(entry.get("password"), str):
            raise ValueError(f"{path}: user {name!r} needs a password string")
        users[str(name)] = (entry["password"], _identity(str(name), {"user": name, **entry}, path))
    return tokens, users


class TokenFile:
    """Static tokens and Basic users from a YAML file, re-read when the file changes."""

    def __init__(self, path: str):
        self._path = path
        self._lock = threading.Lock()
        self._mtime = os.stat(path).st_mtime_ns
        self._tokens, self._users = parse_tokens_file(path)

    def _refresh(self) -> None:
        try:
            mtime = os.stat(self._path).st_mtime_ns
        except OSError:
            return  # keep serving the last good contents
        if mtime == self._mtime:
            return
        with self._lock:
            try:
                self._tokens, self._users = parse_tokens_file(self._path)
                LOG.info("reloaded %s", self._path)
            except (OSError, ValueError, yaml.YAMLError) as exc:
                LOG.error("ignoring invalid %s: %s", self._path, exc)
            self._mtime = mtime

    def authenticate(self, headers: Mapping[str, str]) -> Identity | None:
        """X-Auth-Token first, then HTTP Basic; a client normally sends only one."""
        self._refresh()
        identity = self._token(headers.get("x-auth-token", ""))
        authorization = headers.get("authorization", "")
        if identity is None and authorization[:6].lower() == "basic ":
            identity = self._basic(authorization[6:].strip())
        return identity

    def _token(self, token: str) -> Identity | None:
        if not token:
            return None
        # Constant-time comparison against every token: no timing oracle on the token.
        found = None
        for known, identity in self._tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                found = identity
        return found

    def _basic(self, encoded: str) -> Identity | None:
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        entry = self._users.get(user)
        if entry is None or not hmac.compare_digest(entry[0].encode(), password.encode()):
            return None
        return entry[1]


def make_authenticator(settings: Settings, conf=None) -> Authenticator:
    if settings.auth_strategy == "noauth":
        LOG.warning("auth strategy noauth: every caller is admin of project %s",
                    settings.noauth_project_id)
        return NoAuth(settings.noauth_project_id)
    if settings.auth_strategy == "keystone":
        from taas.api.keystone import KeystoneAuth
        return KeystoneAuth(conf)
    if not settings.tokens_file:
        raise ValueError("[auth] strategy = tokens needs [auth] tokens_file")
    return TokenFile(settings.tokens_file)
