"""`taas agent --config-file FILE --host NAME`: the TaaS agent of one hypervisor."""
from __future__ import annotations

import argparse
import logging
import signal
import threading

from taas import config
from taas.agent.ovsport import AgentOvs
from taas.agent.reconciler import Reconciler
from taas.agent.service import AgentService
from taas.rpc import api as rpc

LOG = logging.getLogger(__name__)


class Agent:
    """An agent wired to a transport: its RPC endpoint, its loop and its OVS."""

    def __init__(self, transport, host: str, tunnel_ip: str | None, ovs: AgentOvs,
                 interval: float):
        self.host = host
        self.ovs = ovs
        self.reconciler = Reconciler(host, tunnel_ip, rpc.ServerClient(transport), ovs)
        self.service = AgentService(self.reconciler, interval)
        self._rpc = None
        self._transport = transport

    def start(self) -> "Agent":
        self._rpc = rpc.start_rpc_server(self._transport, rpc.AGENT_TOPIC, self.host,
                                         [rpc.AgentEndpoint(self.service.nudge)])
        try:  # announce the tunnel address first, so peers can plumb towards this host
            self.reconciler.server.heartbeat(self.host, self.reconciler.tunnel_ip, None)
        except Exception:
            LOG.warning("first heartbeat of %s failed; the loop retries", self.host)
        self.service.start()
        return self

    def stop(self) -> None:
        self.service.stop()
        if self._rpc:
            rpc.stop_rpc_server(self._rpc)
        self.ovs.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="taas agent")
    parser.add_argument("--host", help="hypervisor name (overrides [agent] host)")
    args, rest = parser.parse_known_args(argv)
    conf = config.load(rest)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    host = args.host or conf.agent.host
    if not host:
        parser.error("--host or [agent] host is required")
    transport = rpc.get_transport(conf)
    agent = Agent(transport, host, conf.agent.tunnel_ip,
                  AgentOvs(conf.agent.ovs_rundir), conf.agent.reconcile_interval).start()
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    LOG.info("taas agent for host %s running", host)
    done.wait()
    agent.stop()
    return 0
