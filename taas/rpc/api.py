"""Server <-> agent messages over oslo.messaging: topics, both endpoints and both clients.

The protocol is level-triggered: the server only ever says "host H changed" (a cast); the
agent then asks for H's whole desired state (a call) and reconciles. A lost or repeated cast
costs latency, never correctness, because agents also reconcile periodically.
"""
from __future__ import annotations

import logging
from typing import Callable, Iterable

import oslo_messaging as om
from oslo_config import cfg

from taas.dataplane.model import HostState

LOG = logging.getLogger(__name__)

SERVER_TOPIC = "taas-plugin"
AGENT_TOPIC = "taas-agent"
NAMESPACE = "taas"
VERSION = "1.0"


def get_transport(conf: cfg.ConfigOpts, url: str | None = None) -> om.RPCTransport:
    """One transport per process; in all-in-one mode share it between server and agents."""
    return om.get_rpc_transport(conf, url=url)


def start_rpc_server(transport, topic: str, server: str, endpoints: list) -> om.MessageHandlingServer:
    rpc = om.get_rpc_server(transport, om.Target(topic=topic, server=server), endpoints,
                            executor="threading")
    rpc.start()
    return rpc


def stop_rpc_server(rpc: om.MessageHandlingServer) -> None:
    rpc.stop()
    rpc.wait()


class ServerEndpoint:
    """Runs in the API server: answers agents from the database."""

    target = om.Target(namespace=NAMESPACE, version=VERSION)

    def __init__(self, sessionmaker):
        self._sessionmaker = sessionmaker

    def get_host_state(self, ctxt, host: str) -> dict:
        from taas.db import agents
        with self._sessionmaker() as session:
            return agents.host_state(session, host).to_dict()

    def report_status(self, ctxt, host: str, generation: int, statuses: dict) -> None:
        from taas.db import agents
        with self._sessionmaker() as session:
            agents.report_status(session, host, generation,
                                 {k: tuple(v) for k, v in statuses.items()})
            session.commit()

    def heartbeat(self, ctxt, host: str, tunnel_ip: str | None, applied_generation: int) -> None:
        from taas.db import agents
        with self._sessionmaker() as session:
            agents.agent_heartbeat(session, host, tunnel_ip, applied_generation)
            session.commit()


class AgentNotifier:
    """Used by the API after a commit: tells each affected host's agent to reconcile."""

    def __init__(self, transport):
        self._client = om.get_rpc_client(
            transport, om.Target(topic=AGENT_TOPIC, namespace=NAMESPACE, version=VERSION))

    def hosts_changed(self, hosts: Iterable[str]) -> None:
        for host in sorted(h for h in hosts if h):
            try:
                self._client.prepare(server=host).cast({}, "host_changed", host=host)
            except Exception:  # a lost cast is repaired by the agent's periodic reconcile
                LOG.warning("could not notify agent of host %s", host, exc_info=True)


class ServerClient:
    """Used by an agent: fetch desired state, report status and liveness."""

    def __init__(self, transport, timeout: float = 30.0):
        self._client = om.get_rpc_client(
            transport, om.Target(topic=SERVER_TOPIC, namespace=NAMESPACE, version=VERSION),
            timeout=timeout)

    def get_host_state(self, host: str) -> HostState:
        return HostState.from_dict(self._client.call({}, "get_host_state", host=host))

    def report_status(self, host: str, generation: int,
                      statuses: dict[str, tuple[str, str]]) -> None:
        self._client.call({}, "report_status", host=host, generation=generation,
                          statuses={k: list(v) for k, v in statuses.items()})

    def heartbeat(self, host: str, tunnel_ip: str | None, applied_generation: int) -> None:
        self._client.call({}, "heartbeat", host=host, tunnel_ip=tunnel_ip,
                          applied_generation=applied_generation)


class AgentEndpoint:
    """Runs in an agent: a "host changed" cast wakes its reconcile loop."""

    target = om.Target(namespace=NAMESPACE, version=VERSION)

    def __init__(self, on_change: Callable[[], None]):
        self._on_change = on_change

    def host_changed(self, ctxt, host: str | None = None) -> None:
        self._on_change()
