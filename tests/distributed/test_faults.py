"""Separate processes over RabbitMQ and PostgreSQL: mirroring, then convergence through faults."""
from __future__ import annotations

import subprocess
import time

import pytest

from tests.distributed.conftest import wait_converged
from tests.integration.conftest import Monitors, Tenant, wait_connectivity
from tests.integration.test_mirroring import echoes

pytestmark = [pytest.mark.lab, pytest.mark.rabbit, pytest.mark.postgresql]

A1, A2 = "10.10.0.11", "10.10.0.12"


@pytest.fixture
def alice(dcloud):
    tenant = Tenant(dcloud, "alice")
    tenant.made = []
    yield tenant
    for kind, rid in reversed(tenant.made):
        tenant.delete(kind, rid)
    wait_converged(dcloud)


def mirrors(tenant: Tenant, count: int, direction: str = "OUT") -> list[dict]:
    """`count` tap services on the monitor, each with one tap flow from a1."""
    flows = []
    for _ in range(count):
        ts = tenant.tap_service("mon")
        tenant.made.append(("tap_service", ts["id"]))
        tf = tenant.tap_flow(ts, "a1", direction)
        tenant.made.append(("tap_flow", tf["id"]))
        flows.append(tf)
    return flows


def copies_per_ping(cloud, pings: int = 3) -> int:
    with Monitors(cloud, "mon") as seen:
        assert cloud.lab.ping("a1", A2, count=pings).ok
    copies = len(echoes(seen["mon"], src=A1, dst=A2))
    assert copies % pings == 0, copies
    return copies // pings


def test_copies_cross_hosts_between_separate_processes(dcloud, alice):
    (tf,) = mirrors(alice, 1, "BOTH")
    alice.wait_status("tap_flow", tf["id"])
    wait_converged(dcloud)
    with Monitors(dcloud, "mon") as seen:
        assert dcloud.lab.ping("a1", A2, count=5).ok
    assert len(echoes(seen["mon"], src=A1, dst=A2)) == 5
    assert len(echoes(seen["mon"], src=A2, dst=A1, kind=0)) == 5
    view = dcloud.agents_view()
    assert all(view[h]["alive"] for h in ("h1", "h2", "h3")), view


def test_kill9_agent_during_a_large_change_then_restart(dcloud, alice):
    mirrors(alice, 30)
    dcloud.kill_agent("h1")                 # SIGKILL, while it is applying the change
    mirrors(alice, 10)                      # more changes while it is dead
    dcloud.start_agent("h1")
    wait_converged(dcloud)
    assert copies_per_ping(dcloud) == 40    # one copy per tap flow, no more


def test_vswitchd_restart_on_the_monitor_host(dcloud, alice):
    mirrors(alice, 2)
    wait_converged(dcloud)
    dcloud.lab.restart_vswitchd("h3")
    dcloud.lab.reconcile("h3")              # the network agent restores production
    wait_converged(dcloud)                  # the TaaS agent's periodic pass restores its own
    wait_connectivity(dcloud, "a1", A2)
    assert copies_per_ping(dcloud) == 2


def test_server_restart(dcloud, alice):
    mirrors(alice, 1)
    wait_converged(dcloud)
    dcloud.stop_server()
    dcloud.start_server()
    mirrors(alice, 1)                       # the restarted server reaches the agents
    wait_converged(dcloud)
    assert copies_per_ping(dcloud) == 2


def test_rabbitmq_outage_while_taps_change(dcloud, alice):
    first = mirrors(alice, 2)
    wait_converged(dcloud)
    subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=60)
    try:
        mirrors(alice, 2)                    # the API keeps working; the casts are lost
        alice.delete("tap_flow", first[0]["id"])
        time.sleep(2)
    finally:
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True,
                       timeout=120)
    wait_converged(dcloud, timeout=120)
    assert copies_per_ping(dcloud) == 3


def test_migration_of_source_and_monitor(dcloud, alice):
    mirrors(alice, 1)
    wait_converged(dcloud)
    dcloud.lab.move("a1", "h3")             # the source joins the monitor's host
    wait_converged(dcloud)
    assert copies_per_ping(dcloud) == 1
    dcloud.lab.move("mon", "h2")            # the monitor leaves
    wait_converged(dcloud)
    assert copies_per_ping(dcloud) == 1
    dcloud.lab.move("a1", "h1")
    dcloud.lab.move("mon", "h3")
    wait_converged(dcloud)
    assert copies_per_ping(dcloud) == 1


def test_a_dead_agent_shows_in_status_then_recovers(dcloud, alice):
    (tf,) = mirrors(alice, 1)
    ts_id = tf["tap_service_id"]
    alice.wait_status("tap_flow", tf["id"])
    dcloud.kill_agent("h3")                 # the monitor's host
    svc = alice.wait_status("tap_service", ts_id, want="DOWN", timeout=60)
    assert "agent of host h3 is not alive" in svc["status_reason"]
    flow = alice.wait_status("tap_flow", tf["id"], want="DOWN", timeout=30)
    assert "h3" in flow["status_reason"]
    assert not dcloud.agents_view()["h3"]["alive"]
    dcloud.start_agent("h3")
    alice.wait_status("tap_service", ts_id, timeout=60)
    alice.wait_status("tap_flow", tf["id"], timeout=60)
    wait_converged(dcloud)
    assert copies_per_ping(dcloud) == 1
