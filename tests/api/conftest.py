"""Fixtures: a fresh SQLite database per test, three callers, and a recording notifier."""
from __future__ import annotations

import shutil
import uuid
import warnings
from pathlib import Path

import pytest
import yaml

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from taas.api.app import create_app
from taas.config import Settings
from taas.db.engine import make_engine
from taas.db.migrate import upgrade

ADMIN, ALICE, BOB = "admin-project", "alice-project", "bob-project"
TOKENS = {
    "admin-token": {"user": "admin", "project_id": ADMIN, "roles": ["admin"]},
    "alice-token": {"user": "alice", "project_id": ALICE, "roles": ["member"]},
    "bob-token": {"user": "bob", "project_id": BOB, "roles": ["member"]},
}
USERS = {"alice": {"password": "alice-pw", "project_id": ALICE, "roles": ["member"]}}


class RecordingNotifier:
    """The notifier contract as the RPC layer will see it: one call per commit."""

    def __init__(self):
        self.calls: list[set[str]] = []

    def hosts_changed(self, hosts: set[str]) -> None:
        self.calls.append(set(hosts))

    @property
    def hosts(self) -> set[str]:
        return set().union(*self.calls) if self.calls else set()

    def clear(self) -> None:
        self.calls.clear()


class Api:
    """A TestClient bound to one caller's token, with Neutron-shaped helpers."""

    def __init__(self, client: TestClient, token: str | None):
        self.client = client
        self.headers = {"X-Auth-Token": token} if token else {}

    def request(self, method: str, path: str, **kw):
        return self.client.request(method, path, headers={**self.headers, **kw.pop(
            "headers", {})}, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, json=body, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, json=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def create(self, collection: str, key: str, expect: int = 201, **attrs) -> dict:
        prefix = "/v2.0/taas/" if collection.startswith("tap_") else "/v2.0/"
        r = self.post(prefix + collection, {key: attrs})
        assert r.status_code == expect, f"{collection} {attrs} -> {r.status_code} {r.text}"
        return r.json()[key] if expect == 201 else r.json()

    def network(self, **attrs) -> dict:
        return self.create("networks", "network", name=attrs.pop("name", "net"), **attrs)

    def port(self, network: dict, **attrs) -> dict:
        return self.create("ports", "port", network_id=network["id"], **attrs)

    def tap_service(self, port: dict, **attrs) -> dict:
        return self.create("tap_services", "tap_service", port_id=port["id"], **attrs)

    def tap_flow(self, service: dict, port: dict, direction: str = "BOTH", **attrs) -> dict:
        return self.create("tap_flows", "tap_flow", tap_service_id=service["id"],
                           source_port=port["id"], direction=direction, **attrs)

    def tap_mirror(self, port: dict, directions: dict, **attrs) -> dict:
        attrs.setdefault("remote_ip", "192.0.2.1")
        attrs.setdefault("mirror_type", "gre")
        return self.create("tap_mirrors", "tap_mirror", port_id=port["id"],
                           directions=directions, **attrs)


def error_of(response) -> dict:
    """The NeutronError of a response (and proof it has exactly that shape)."""
    body = response.json()
    assert set(body) == {"NeutronError"}, body
    assert set(body["NeutronError"]) == {"type", "message", "detail"}, body
    assert response.headers["content-type"].startswith("application/json")
    return body["NeutronError"]


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> Path:
    """One migrated SQLite file; each test starts from a copy (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "taas.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def tokens_file(tmp_path) -> Path:
    path = tmp_path / "tokens.yaml"
    path.write_text(yaml.safe_dump({"tokens": TOKENS, "users": USERS}))
    return path


@pytest.fixture
def make_app(tmp_path, template_db, tokens_file):
    """make_app(**settings) -> (app, notifier) on a fresh copy of the template database."""
    engines = []

    def make(notifier=None, conf=None, **overrides):
        db = tmp_path / f"taas-{uuid.uuid4().hex[:6]}.sqlite"
        shutil.copy(template_db, db)
        settings = Settings(**{"database_url": f"sqlite:///{db}",
                               "tokens_file": str(tokens_file), **overrides})
        notifier = notifier or RecordingNotifier()
        engine = make_engine(settings.database_url)
        engines.append(engine)
        return create_app(settings, notifier=notifier, engine=engine, conf=conf), notifier

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def app_and_notifier(make_app):
    return make_app()


@pytest.fixture
def client(app_and_notifier):
    with TestClient(app_and_notifier[0], raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def notifier(app_and_notifier) -> RecordingNotifier:
    return app_and_notifier[1]


@pytest.fixture
def admin(client) -> Api:
    return Api(client, "admin-token")


@pytest.fixture
def alice(client) -> Api:
    return Api(client, "alice-token")


@pytest.fixture
def bob(client) -> Api:
    return Api(client, "bob-token")


@pytest.fixture
def anonymous(client) -> Api:
    return Api(client, None)


@pytest.fixture
def alice_net(admin) -> dict:
    """Alice's network (made by the admin on her behalf, as the lab does)."""
    return admin.network(name="alice-net", project_id=ALICE)


@pytest.fixture
def alice_ports(admin, alice_net) -> dict:
    """vm1 on host-1, vm2 on host-2, mon (monitor VM) on host-2, all Alice's."""
    return {name: admin.port(alice_net, name=name, project_id=ALICE, **{"binding:host_id": host})
            for name, host in (("vm1", "host-1"), ("vm2", "host-2"), ("mon", "host-2"))}


@pytest.fixture
def bob_net(admin) -> dict:
    return admin.network(name="bob-net", project_id=BOB)


@pytest.fixture
def bob_port(admin, bob_net) -> dict:
    return admin.port(bob_net, name="bob-vm", project_id=BOB, **{"binding:host_id": "host-3"})
