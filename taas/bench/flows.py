"""Bench (a): the agent programming ~10,000 tap flows on one private OVS vs one ovs-ofctl each."""
from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

from taas.agent.ovsport import AgentOvs
from taas.agent.reconciler import Reconciler
from taas.dataplane import layout as L
from taas.dataplane.compiler import compile_host
from taas.dataplane.model import HostFacts, HostState, TapFlowSpec
from taas.ovs.flows import installed_cookies
from taas.ovs.host import OvsHost
from taas.ovs.ovsdb import Ovsdb

HOST, TUNNEL_IP, REMOTE, REMOTE_IP = "h1", "192.0.2.1", "h2", "192.0.2.2"
BASELINE_LIMIT = 120.0      # seconds; beyond that the baseline is sampled and extrapolated
SAMPLE = 1000


class StaticSource:
    """The server's side of the RPC reduced to one fixed desired state."""

    def __init__(self, state: HostState):
        self.state = state

    def get_host_state(self, host):
        return self.state

    def report_status(self, host, generation, statuses):
        self.statuses = statuses

    def heartbeat(self, host, tunnel_ip, applied_generation):
        pass


@dataclasses.dataclass
class FlowResult:
    shape: str
    tap_flows: int
    of_flows: int
    compile_s: float
    first_s: float
    noop_s: float
    baseline_s: float
    baseline_note: str


def desired_state(ports: int, per_port: int, services: int) -> HostState:
    """ports x per_port BOTH tap flows; flow k of a port goes to remote service k % services
    (services > per_port: the port's flows use consecutive services, round robin)."""
    flows, n = [], 0
    for p in range(ports):
        for k in range(per_port):
            session = 1 + (n % services)
            flows.append(TapFlowSpec(f"tf{n:05d}", f"ts{session:05d}", f"port{p:04d}", "BOTH",
                                     session, REMOTE, REMOTE_IP))
            n += 1
    return HostState(host=HOST, generation=1, tap_flows=tuple(sorted(flows)))


def start_host(workdir: Path, ports: int) -> OvsHost:
    """br-int/br-tun on the dummy datapath and `ports` dummy VM ports with iface-ids."""
    ovs = OvsHost(HOST, workdir, dummy=True)
    ovs.start(fresh=True)
    with Ovsdb(ovs) as db:
        for br in (L.BR_INT, L.BR_TUN):
            db.ensure_bridge(br, datapath_type="dummy")
        db.ensure_patch_pair(L.BR_INT, "patch-tun", L.INT_PATCH_TUN,
                             L.BR_TUN, "patch-int", L.TUN_PATCH_INT)
    for first in range(0, ports, 250):     # a few big vsctl transactions, not one per port
        args = []
        for p in range(first, min(first + 250, ports)):
            args += ["--", "add-port", L.BR_INT, f"vm{p}", "--", "set", "Interface", f"vm{p}",
                     "type=dummy", f"ofport_request={L.FIRST_VM_OFPORT + p}",
                     f"external_ids:iface-id=port{p:04d}"]
        ovs.vsctl(*args, timeout=120)
    return ovs


def taas_flows(ovs: OvsHost) -> int:
    return sum(len(installed_cookies(ovs, br, L.COOKIE_TAAS))
               for br in (L.BR_INT, L.BR_TAP, L.BR_TUN))


def baseline(ovs: OvsHost, flows) -> tuple[float, str]:
    """The same flows, one `ovs-ofctl add-flow` process each (downstream bridges first)."""
    order = {L.BR_TUN: 0, L.BR_TAP: 1, L.BR_INT: 2}
    flows = sorted(flows, key=lambda f: (order[f.bridge], f.cookie))
    started = time.monotonic()
    for i, flow in enumerate(flows, 1):
        ovs.ofctl("add-flow", flow.bridge, f"cookie={flow.cookie:#x},{flow.body()}")
        if i == SAMPLE and i < len(flows):
            spent = time.monotonic() - started
            if spent * len(flows) / SAMPLE > BASELINE_LIMIT:
                return spent * len(flows) / SAMPLE, (
                    f"extrapolated from the first {SAMPLE} flows ({spent:.1f} s)")
    return time.monotonic() - started, "measured (all flows)"


def run_shape(ports: int, per_port: int, services: int, workdir: Path) -> FlowResult:
    state = desired_state(ports, per_port, services)
    ovs = start_host(workdir, ports)
    agent_ovs = AgentOvs(ovs)
    try:
        reconciler = Reconciler(HOST, TUNNEL_IP, StaticSource(state), agent_ovs)
        first = reconciler.reconcile()
        noop = reconciler.reconcile()
        if noop.added or noop.removed:
            raise RuntimeError(f"second reconcile changed flows: {noop}")
        installed = taas_flows(ovs)
        if installed != first.flows:
            raise RuntimeError(f"{installed} TaaS flows installed, {first.flows} compiled")
        facts = HostFacts(HOST, TUNNEL_IP, agent_ovs.ofports_by_iface_id())
        t = time.monotonic()
        compiled = compile_host(state, facts)
        compile_s = time.monotonic() - t
        bad = [s for s in reconciler.server.statuses.values() if s[0] != "ACTIVE"]
        if bad:
            raise RuntimeError(f"{len(bad)} resources not ACTIVE, e.g. {bad[0]}")
        # Baseline on the same switch: TaaS flows removed, plumbing kept.
        for br in (L.BR_INT, L.BR_TAP, L.BR_TUN):
            ovs.ofctl("del-flows", br, f"cookie={L.COOKIE_TAAS:#x}/{L.COOKIE_OWNER_MASK:#x}")
        base_s, note = baseline(ovs, compiled.flows)
        if note.startswith("measured") and taas_flows(ovs) != len(compiled.flows):
            raise RuntimeError("baseline did not install every flow")
        shape = (f"{ports} ports x {per_port} BOTH tap flows -> {services} remote services")
        return FlowResult(shape, len(state.tap_flows), first.flows, compile_s, first.seconds,
                          noop.seconds, base_s, note)
    finally:
        agent_ovs.close()
        ovs.stop()


def run(shapes=((1000, 10, 10), (1000, 10, 10000))) -> list[FlowResult]:
    results = []
    with tempfile.TemporaryDirectory(prefix="taas-bench-") as tmp:
        for i, (ports, per_port, services) in enumerate(shapes):
            results.append(run_shape(ports, per_port, services, Path(tmp) / f"s{i}"))
    return results
