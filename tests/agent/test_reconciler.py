"""The reconciler against a real ovsdb-server + ovs-vswitchd (dummy datapath, no namespace)."""
from __future__ import annotations

import shutil

import pytest

from taas.agent.ovsport import AgentOvs
from taas.agent.reconciler import Reconciler
from taas.dataplane import layout as L
from taas.dataplane.model import HostState, TapFlowSpec, TapServiceSpec
from taas.ovs.flows import installed_cookies
from taas.ovs.host import OvsHost
from taas.ovs.ovsdb import Ovsdb

pytestmark = pytest.mark.skipif(not shutil.which("ovs-vswitchd"), reason="needs Open vSwitch")

SRC, MON, OTHER = "port-src", "port-mon", "port-other"


class StateSource:
    """Stands in for the server's side of the RPC: a settable desired state, recorded reports."""

    def __init__(self, host: str):
        self.state = HostState(host=host, generation=1)
        self.reports: list[tuple[int, dict]] = []
        self.heartbeats: list[int] = []

    def get_host_state(self, host):
        return self.state

    def report_status(self, host, generation, statuses):
        self.reports.append((generation, dict(statuses)))

    def heartbeat(self, host, tunnel_ip, applied_generation):
        self.heartbeats.append(applied_generation)


@pytest.fixture
def host(tmp_path):
    ovs = OvsHost("h1", tmp_path / "h1", dummy=True)
    ovs.start()
    with Ovsdb(ovs) as db:
        for br in (L.BR_INT, L.BR_TUN):
            db.ensure_bridge(br, datapath_type="dummy")
        db.ensure_patch_pair(L.BR_INT, "patch-tun", L.INT_PATCH_TUN,
                             L.BR_TUN, "patch-int", L.TUN_PATCH_INT)
        for n, port in enumerate((SRC, MON, OTHER)):
            db.ensure_port(L.BR_INT, f"vm{n}", type="dummy", ofport_request=L.FIRST_VM_OFPORT + n,
                           external_ids={"iface-id": port})
    yield ovs
    ovs.stop()


def taas_flow_count(ovs: OvsHost) -> int:
    return sum(len(installed_cookies(ovs, br, L.COOKIE_TAAS))
               for br in (L.BR_INT, L.BR_TAP, L.BR_TUN))


def local_state(generation: int, direction: str = "BOTH") -> HostState:
    return HostState(
        host="h1", generation=generation,
        tap_services=(TapServiceSpec("ts1", MON, 10001),),
        tap_flows=(TapFlowSpec("tf1", "ts1", SRC, direction, 10001, "h1", "192.0.2.1"),))


def test_reconcile_installs_reports_and_is_idempotent(host):
    source = StateSource("h1")
    agent_ovs = AgentOvs(host)
    reconciler = Reconciler("h1", "192.0.2.1", source, agent_ovs)
    try:
        source.state = local_state(2)
        first = reconciler.reconcile()
        assert first.added == first.flows > 0 and first.removed == 0
        assert taas_flow_count(host) == first.flows
        assert source.reports[-1] == (2, {"ts1": ("ACTIVE", ""), "tf1": ("ACTIVE", "")})
        assert source.heartbeats[-1] == 2
        # br-tap and both patch pairs were made by the agent.
        names = Ovsdb(host)
        try:
            assert names.ofports_by_name(L.BR_TAP) == {"patch-tap-int": L.TAP_PATCH_INT,
                                                       "patch-tap-tun": L.TAP_PATCH_TUN}
        finally:
            names.close()

        second = reconciler.reconcile()
        assert (second.added, second.removed) == (0, 0)
        assert taas_flow_count(host) == first.flows
    finally:
        agent_ovs.close()


def test_changes_converge_to_exactly_the_desired_flows(host):
    source = StateSource("h1")
    agent_ovs = AgentOvs(host)
    reconciler = Reconciler("h1", "192.0.2.1", source, agent_ovs)
    try:
        source.state = local_state(1, "BOTH")
        both = reconciler.reconcile().flows
        source.state = local_state(2, "OUT")
        out = reconciler.reconcile()
        assert out.flows < both and out.removed > 0
        assert taas_flow_count(host) == out.flows
        # Deleting everything leaves only br-tap's default drop, and no mirror tunnel.
        source.state = HostState(host="h1", generation=3)
        empty = reconciler.reconcile()
        assert taas_flow_count(host) == empty.flows == 1
        assert "taas-tun" not in agent_ovs.db.ofports_by_name(L.BR_TUN)
    finally:
        agent_ovs.close()


def test_unplugged_source_port_is_reported_as_error(host):
    source = StateSource("h1")
    agent_ovs = AgentOvs(host)
    try:
        source.state = HostState(host="h1", generation=1, tap_flows=(
            TapFlowSpec("tf9", "ts9", "no-such-port", "IN", 10009, "h2", "192.0.2.2"),))
        Reconciler("h1", "192.0.2.1", source, agent_ovs).reconcile()
        status, reason = source.reports[-1][1]["tf9"]
        assert status == "ERROR" and "no-such-port" in reason
    finally:
        agent_ovs.close()


def test_vswitchd_restart_is_repaired_by_the_next_pass(host):
    source = StateSource("h1")
    agent_ovs = AgentOvs(host)
    reconciler = Reconciler("h1", "192.0.2.1", source, agent_ovs)
    try:
        source.state = local_state(1)
        installed = reconciler.reconcile().flows
        host.restart_vswitchd()
        assert taas_flow_count(host) == 0          # vswitchd keeps no flows across restarts
        again = reconciler.reconcile()
        assert again.added == installed and taas_flow_count(host) == installed
    finally:
        agent_ovs.close()
