"""One reconcile pass: desired state -> pure compiler -> diff with OVS -> one bundle per bridge."""
from __future__ import annotations

import collections
import dataclasses
import logging
import time

from taas.dataplane import layout
from taas.dataplane.compiler import compile_host
from taas.dataplane.model import HostFacts, HostState

LOG = logging.getLogger(__name__)

# Downstream bridges first: a new copy path exists before br-int starts sending into it.
APPLY_ORDER = (layout.BR_TUN, layout.BR_TAP, layout.BR_INT)


@dataclasses.dataclass(frozen=True)
class ReconcileResult:
    generation: int
    flows: int           # TaaS flows desired on this host after the pass
    added: int
    removed: int
    seconds: float
    statuses: dict


class Reconciler:
    """Makes one host's OVS hold exactly the TaaS flows and ports its desired state needs.

    `server` fetches state and takes reports (taas.rpc.api.ServerClient or any object with
    the same methods); `ovs` is the host's taas.agent.ovsport.AgentOvs.
    """

    def __init__(self, host: str, tunnel_ip: str | None, server, ovs):
        self.host = host
        self.tunnel_ip = tunnel_ip
        self.server = server
        self.ovs = ovs
        self.applied_generation = 0

    def reconcile(self) -> ReconcileResult:
        started = time.monotonic()
        state: HostState = self.server.get_host_state(self.host)
        self.ovs.ensure_plumbing()
        facts = HostFacts(host=self.host, tunnel_ip=self.tunnel_ip,
                          ofports=self.ovs.ofports_by_iface_id())
        compiled = compile_host(state, facts)
        self.ovs.set_mirror_tunnel(compiled.needs_mirror_tunnel)
        by_bridge = collections.defaultdict(list)
        for flow in compiled.flows:
            by_bridge[flow.bridge].append(flow)
        added = removed = 0
        statuses = dict(compiled.statuses)
        try:
            for bridge in APPLY_ORDER:
                result = self.ovs.apply_flows(bridge, by_bridge.get(bridge, ()))
                added += result.added
                removed += result.removed
        except Exception as exc:  # report why, then let the periodic pass retry
            LOG.exception("host %s: applying flows failed", self.host)
            statuses = {rid: ("ERROR", f"agent on {self.host} failed to apply flows: {exc}")
                        for rid in statuses}
            self.server.report_status(self.host, state.generation, statuses)
            raise
        self.server.report_status(self.host, state.generation, statuses)
        self.applied_generation = state.generation
        self.server.heartbeat(self.host, self.tunnel_ip, state.generation)
        return ReconcileResult(state.generation, len(compiled.flows), added, removed,
                               time.monotonic() - started, statuses)
