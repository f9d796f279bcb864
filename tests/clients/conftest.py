"""Live-server fixtures for the client-compatibility tests.

Every test in tests/clients talks to a real `taas server` process over HTTP: the real
openstacksdk, the real `openstack` CLI and schemathesis. Nothing is mocked. The server gets a
temporary directory (config, SQLite database, tokens file, log), a free port on 127.0.0.1,
and is always stopped at the end of the session.
"""
from __future__ import annotations

import dataclasses
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import yaml

VENV_BIN = Path(sys.executable).parent
TAAS = str(VENV_BIN / "taas")
START_TIMEOUT = 40.0

ADMIN_PROJECT = uuid.uuid4().hex
ALICE_PROJECT = uuid.uuid4().hex
BOB_PROJECT = uuid.uuid4().hex
NOAUTH_PROJECT = "00000000000000000000000000000000"

TOKENS = {
    "admin-token": {"user": "admin", "project_id": ADMIN_PROJECT, "roles": ["admin"]},
    "alice-token": {"user": "alice", "project_id": ALICE_PROJECT, "roles": ["member"]},
    "bob-token": {"user": "bob", "project_id": BOB_PROJECT, "roles": ["member"]},
}
USERS = {
    "alice": {"password": "pw", "project_id": ALICE_PROJECT, "roles": ["member"]},
    "bob": {"password": "pw-bob", "project_id": BOB_PROJECT, "roles": ["member"]},
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique(prefix: str) -> str:
    """A name no other test uses (the CLI finds by name, so names must not collide)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# Tap mirror tunnel ids are unique server-wide; every caller draws fresh ones from here.
# Kept below 1024 so they are valid ERSPAN v1 session ids too. The CLI tests use 101/102.
_tunnel_ids = itertools.count(200)


def next_tunnel_id() -> int:
    return next(_tunnel_ids)


@dataclasses.dataclass
class LiveServer:
    url: str
    tokens: dict
    projects: dict  # "admin" | "alice" | "bob" -> project id
    log_path: Path
    process: subprocess.Popen

    admin_token = "admin-token"
    alice_token = "alice-token"
    bob_token = "bob-token"

    def client(self, token: str | None = "admin-token") -> httpx.Client:
        headers = {"X-Auth-Token": token} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=15.0)

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "<no log>"

    # --- admin helpers (plain HTTP, so the clients under test are not needed for setup)
    def _post(self, path: str, body: dict, token: str | None = "admin-token") -> dict:
        with self.client(token) as c:
            r = c.post(path, json=body)
        assert r.status_code == 201, f"POST {path} {body} -> {r.status_code} {r.text}"
        return r.json()

    def create_network(self, project: str, name: str | None = None, shared: bool = False,
                       token: str | None = "admin-token") -> dict:
        body = {"network": {"name": name or unique("net"), "project_id": self.projects[project]}}
        if shared:
            body["network"]["shared"] = True
        return self._post("/v2.0/networks", body, token)["network"]

    def create_port(self, network: dict, project: str, name: str | None = None,
                    host: str = "compute-1", token: str | None = "admin-token") -> dict:
        body = {"port": {"network_id": network["id"], "name": name or unique("port"),
                         "project_id": self.projects[project], "binding:host_id": host}}
        return self._post("/v2.0/ports", body, token)["port"]

    def delete(self, path: str, token: str = "admin-token") -> httpx.Response:
        with self.client(token) as c:
            return c.delete(path)

    def get(self, path: str, token: str | None = "admin-token", **kw) -> httpx.Response:
        with self.client(token) as c:
            return c.get(path, **kw)


def _write_config(tmp: Path, port: int, strategy: str) -> Path:
    tokens_file = tmp / "tokens.yaml"
    tokens_file.write_text(yaml.safe_dump({"tokens": TOKENS, "users": USERS}))
    conf = tmp / "taas.conf"
    lines = [
        "[api]", "bind_host = 127.0.0.1", f"bind_port = {port}", "",
        "[database]", f"connection = sqlite:///{tmp / 'taas.sqlite'}", "",
        "[auth]", f"strategy = {strategy}", f"tokens_file = {tokens_file}",
    ]
    if strategy == "noauth":
        lines.append(f"noauth_project_id = {NOAUTH_PROJECT}")
    conf.write_text("\n".join(lines) + "\n")
    return conf


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


def start_server(tmp: Path, strategy: str = "tokens"):
    """Start `taas server`, wait until `GET /` answers; a generator yielding a LiveServer."""
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = _write_config(tmp, port, strategy)
    log_path = tmp / "server.log"
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        # `taas db upgrade` is the documented first step; the server may migrate on its own
        # too, so a failure here is only logged and the server start decides.
        subprocess.run([TAAS, "db", "upgrade", "--config-file", str(conf)], cwd=tmp,
                       stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                       timeout=120, check=False)
        log.flush()
        proc = subprocess.Popen([TAAS, "server", "--config-file", str(conf)], cwd=tmp,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    server = LiveServer(url=url, tokens=TOKENS, log_path=log_path, process=proc,
                        projects={"admin": ADMIN_PROJECT, "alice": ALICE_PROJECT,
                                  "bob": BOB_PROJECT, "noauth": NOAUTH_PROJECT})
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"taas server exited with {proc.returncode} before answering:\n"
                            f"{server.log_tail()}")
            try:
                if httpx.get(url + "/", timeout=2.0).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"taas server did not answer GET / within {START_TIMEOUT}s:\n"
                            f"{server.log_tail()}")
            time.sleep(0.2)
        yield server
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def taas_server(tmp_path_factory):
    """The shared live server (token auth: admin-token, alice-token, bob-token; basic alice/pw)."""
    yield from start_server(tmp_path_factory.mktemp("taas-live"))


@pytest.fixture(scope="session")
def taas_noauth_server(tmp_path_factory):
    """A second live server with [auth] strategy = noauth (every caller is admin)."""
    yield from start_server(tmp_path_factory.mktemp("taas-noauth"), strategy="noauth")


@pytest.fixture(scope="session")
def taas_fuzz_server(tmp_path_factory):
    """A separate live server for schemathesis, so fuzzing cannot disturb the other tests."""
    yield from start_server(tmp_path_factory.mktemp("taas-fuzz"))


@dataclasses.dataclass
class Topology:
    """Alice's network with a few ports and Bob's network with one port (made by admin)."""
    alice_net: dict
    bob_net: dict
    alice_ports: dict  # short name -> port dict
    bob_port: dict


@pytest.fixture(scope="session")
def topology(taas_server) -> Topology:
    alice_net = taas_server.create_network("alice", unique("alice-net"))
    bob_net = taas_server.create_network("bob", unique("bob-net"))
    ports = {}
    for short, host in (("vm1", "compute-1"), ("vm2", "compute-2"), ("mon", "compute-2"),
                        ("mon2", "compute-1")):
        ports[short] = taas_server.create_port(alice_net, "alice", unique(f"alice-{short}"),
                                               host=host)
    bob_port = taas_server.create_port(bob_net, "bob", unique("bob-vm"))
    return Topology(alice_net, bob_net, ports, bob_port)
