"""Simulated agents: the real agent loop and RPC over RabbitMQ, with a fake OVS (no bridges)."""
from __future__ import annotations

import collections
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from taas.agent.main import Agent
from taas.ovs.flows import ApplyResult


class FakeOvs:
    """AgentOvs without Open vSwitch: every port of the host is "plugged" (fixed ofports),
    plumbing and the mirror tunnel are no-ops, and apply_flows only diffs against the set
    it was last given. The pure compiler still runs on these facts in every pass."""

    def __init__(self, ofports: dict[str, int]):
        self._ofports = dict(ofports)
        self._flows: dict[str, set] = collections.defaultdict(set)

    def ensure_plumbing(self) -> None:
        pass

    def ofports_by_iface_id(self) -> dict[str, int]:
        return dict(self._ofports)

    def set_mirror_tunnel(self, needed: bool) -> None:
        pass

    def apply_flows(self, bridge: str, flows) -> ApplyResult:
        desired = {(f.cookie, f.body()) for f in flows}
        held = self._flows[bridge]
        result = ApplyResult(added=len(desired - held), removed=len(held - desired))
        self._flows[bridge] = desired
        return result

    def close(self) -> None:
        pass


class Nudges:
    """Counts "host changed" casts received, per host, with their arrival times."""

    def __init__(self):
        self._lock = threading.Lock()
        self.log: list[tuple[float, str]] = []

    def wrap(self, host: str, nudge):
        def counted():
            with self._lock:
                self.log.append((time.monotonic(), host))
            nudge()
        return counted

    def since(self, t0: float) -> list[str]:
        with self._lock:
            return [h for t, h in self.log if t >= t0]


class SimAgents:
    """`hosts` agents in this process, each its own Agent (RPC server on the agent topic,
    ServerClient, AgentService thread) over one shared oslo.messaging transport."""

    def __init__(self, transport, ofports: dict[str, dict[str, int]],
                 tunnel_ips: dict[str, str], interval: float):
        self.nudges = Nudges()
        self.agents: dict[str, Agent] = {}
        for host, ports in ofports.items():
            agent = Agent(transport, host, tunnel_ips[host], FakeOvs(ports), interval)
            # AgentEndpoint is built in start() from service.nudge: count before waking.
            agent.service.nudge = self.nudges.wrap(host, agent.service.nudge)
            self.agents[host] = agent

    def start(self, parallel: int = 16) -> "SimAgents":
        with ThreadPoolExecutor(parallel) as pool:
            list(pool.map(Agent.start, self.agents.values()))
        return self

    def stop(self, parallel: int = 16) -> None:
        with ThreadPoolExecutor(parallel) as pool:
            list(pool.map(Agent.stop, self.agents.values()))

    def errors(self) -> dict[str, str]:
        return {h: repr(a.service.last_error) for h, a in self.agents.items()
                if a.service.last_error is not None}
