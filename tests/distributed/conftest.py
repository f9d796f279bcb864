"""A 3-host cloud whose server and agents are separate processes over RabbitMQ and PostgreSQL."""
from __future__ import annotations

import os
import socket
import time

import pytest

from taas.agent.ovsport import AgentOvs
from taas.dataplane import layout as L
from taas.dataplane.compiler import compile_host
from taas.dataplane.model import HostFacts
from taas.db import agents as db_agents
from taas.db.engine import Database
from taas.lab import spec as lab_spec
from taas.lab.distributed import DEFAULT_TRANSPORT, Distributed
from taas.ovs.flows import installed_cookies
from tests.db.conftest import _server_database
from tests.integration.conftest import _need_lab

SPEC = {
    "name": "dist",
    "underlay": "192.0.2.0/24",
    "hosts": ["h1", "h2", "h3"],
    "projects": {"alice": {}},
    "networks": [
        {"name": "alice-net", "project": "alice", "cidr": "10.10.0.0/24"},
        {"name": "alice-mon-net", "project": "alice", "cidr": "10.11.0.0/24"},
    ],
    "vms": [
        {"name": "a1", "host": "h1", "ports": [{"network": "alice-net", "ip": "10.10.0.11"}]},
        {"name": "a2", "host": "h2", "ports": [{"network": "alice-net", "ip": "10.10.0.12"}]},
    ],
    "monitors": [
        {"name": "mon", "host": "h3", "project": "alice",
         "ports": [{"network": "alice-mon-net", "ip": "10.11.0.100"}]},
    ],
}


def _need_rabbit() -> None:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
    except OSError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"RabbitMQ unreachable on 127.0.0.1:5672: {exc}")
        pytest.skip(f"RabbitMQ unreachable: {exc}")


@pytest.fixture(scope="module")
def pg_url():
    yield from _server_database("postgresql")


@pytest.fixture(scope="module")
def dcloud(tmp_path_factory, pg_url):
    _need_lab()
    _need_rabbit()
    cloud = Distributed(lab_spec.parse(SPEC), tmp_path_factory.mktemp("dist"), pg_url,
                        DEFAULT_TRANSPORT, reconcile_interval=2.0)
    with cloud:
        cloud.db = Database.from_url(pg_url)
        yield cloud
        cloud.db.dispose()


def expected_cookies(cloud: Distributed, host: str) -> dict[str, set[int]]:
    """What the host's bridges must hold now: the server's desired state, compiled."""
    state = cloud.db.read(lambda s: db_agents.host_state(s, host))
    agent_ovs = AgentOvs(cloud.lab.ovs(host))
    try:
        facts = HostFacts(host, cloud.spec.host(host).ip, agent_ovs.ofports_by_iface_id())
    finally:
        agent_ovs.close()
    compiled = compile_host(state, facts)
    return {br: {f.cookie for f in compiled.flows if f.bridge == br}
            for br in (L.BR_INT, L.BR_TAP, L.BR_TUN)}


def installed(cloud: Distributed, host: str) -> dict[str, set[int]]:
    return {br: installed_cookies(cloud.lab.ovs(host), br, L.COOKIE_TAAS)
            for br in (L.BR_INT, L.BR_TAP, L.BR_TUN)}


def wait_converged(cloud: Distributed, timeout: float = 60.0) -> None:
    """Every host holds exactly its compiled desired flows: none stale, none missing."""
    deadline = time.monotonic() + timeout
    while True:
        diff = {h.name: (installed(cloud, h.name), expected_cookies(cloud, h.name))
                for h in cloud.spec.hosts}
        if all(have == want for have, want in diff.values()):
            return
        if time.monotonic() > deadline:
            counts = {h: (sum(map(len, have.values())), sum(map(len, want.values())))
                      for h, (have, want) in diff.items()}
            raise AssertionError(f"hosts did not converge (installed, desired): {counts}")
        time.sleep(0.3)
