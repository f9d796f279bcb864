"""Server <-> agent messages over oslo.messaging: topics, both endpoints and both clients.

The protocol is level-triggered: the server only ever says "host H changed" (a cast); the
agent then asks for H's whole desired state (a call) and reconciles. A lost or repeated cast
costs latency, never correctness, because agents also reconcile periodically.
"""
from __future__ import annotations

import logging
import threading
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
    _register_tracing_opts(conf)
    return om.get_rpc_transport(conf, url=url)


def _register_tracing_opts(conf: cfg.ConfigOpts) -> None:
    # oslo.messaging registers its tracing and metrics options on the global CONF only, yet
    # reads them from the transport's conf at every call: a private ConfigOpts needs them.
    import importlib
    for module, group in (("oslo_messaging._tracing.client", "oslo_messaging_tracing"),
                          ("oslo_messaging._metrics.client", "oslo_messaging_metrics")):
        try:
            opts = getattr(importlib.import_module(module), group)
        except (ImportError, AttributeError):  # another oslo.messaging: nothing to add
            continue
        conf.register_opts(opts, group=group)


def start_rpc_server(transport, topic: str, server: str, endpoints: list) -> om.MessageHandlingServer:
    rpc = om.get_rpc_server(transport, om.Target(topic=topic, server=server), endpoints,
                            executor="threading")
    rpc.start()
    return rpc


def stop_rpc_server(rpc: om.MessageHandlingServer) -> None:
    rpc.stop()
    rpc.wait()


class ServerEndpoint:
    """Runs in the API server: answers agents from the database (taas.db.engine.Database)."""

    target = om.Target(namespace=NAMESPACE, version=VERSION)

    def __init__(self, db, notifier: "AgentNotifier | None" = None):
        self._db = db
        self._notifier = notifier

    def get_host_state(self, ctxt, host: str) -> dict:
        from taas.db import agents
        return self._db.read(lambda s: agents.host_state(s, host)).to_dict()

    def report_status(self, ctxt, host: str, generation: int, statuses: dict) -> None:
        from taas.db import agents
        statuses = {k: tuple(v) for k, v in statuses.items()}
        self._db.write(lambda s: agents.report_status(s, host, generation, statuses))

    def heartbeat(self, ctxt, host: str, tunnel_ip: str | None, applied_generation: int) -> None:
        from taas.db import agents
        changed = self._db.write(
            lambda s: agents.agent_heartbeat(s, host, tunnel_ip, applied_generation))
        # A new tunnel address changes the flows of every host that sends copies here.
        if changed and self._notifier:
            self._notifier.hosts_changed(changed)


class AgentNotifier:
    """Used by the API after a commit: tells each affected host's agent to reconcile.

    Casts leave from a background thread, so an API request never waits on the bus (a
    RabbitMQ outage must not stall the API). Pending hosts coalesce; a cast that fails is
    dropped, and the agent's periodic pass repairs what it missed.
    """

    def __init__(self, transport, retry: int = 1):
        self._client = om.get_rpc_client(
            transport, om.Target(topic=AGENT_TOPIC, namespace=NAMESPACE, version=VERSION))
        self._retry = retry
        self._pending: set[str] = set()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="taas-notifier", daemon=True)
        self._thread.start()

    def hosts_changed(self, hosts: Iterable[str]) -> None:
        with self._cond:
            self._pending.update(h for h in hosts if h)
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending)
                hosts, self._pending = sorted(self._pending), set()
            for host in hosts:
                self.cast(host)

    def cast(self, host: str) -> None:
        try:
            self._client.prepare(server=host, retry=self._retry).cast(
                {}, "host_changed", host=host)
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


def configured_transport_url(conf: cfg.ConfigOpts) -> str | None:
    """[DEFAULT] transport_url when the operator set it, else None: the server then runs
    without agents. oslo.messaging's own default ("rabbit://") does not count, or every
    API-only server would join the agents' queues of whatever broker runs locally."""
    from oslo_messaging import transport as om_transport
    conf.register_opts(om_transport._transport_opts)
    if conf.get_location("transport_url").location == cfg.Locations.opt_default:
        return None
    return conf.transport_url


class ServerRpc:
    """The server's side of the bus: the endpoint agents call, the notifier the API uses,
    and a sweeper that marks the resources of agents that stopped heartbeating."""

    def __init__(self, transport, server_name: str = "taas-server"):
        self.transport = transport
        self.notifier = AgentNotifier(transport)
        self._server_name = server_name
        self._rpc: om.MessageHandlingServer | None = None
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    def start(self, db, report_interval: float = 10.0) -> "ServerRpc":
        self._rpc = start_rpc_server(self.transport, SERVER_TOPIC, self._server_name,
                                     [ServerEndpoint(db, self.notifier)])
        self._sweeper = threading.Thread(target=self._sweep, args=(db, report_interval),
                                         name="taas-liveness", daemon=True)
        self._sweeper.start()
        return self

    def _sweep(self, db, report_interval: float) -> None:
        from taas.db import status
        # Alive means a heartbeat within 3 intervals, as GET /v2.0/agents says.
        while not self._stop.wait(report_interval):
            try:
                db.write(lambda s: status.mark_dead_agents(s, 3 * report_interval))
            except Exception:
                LOG.warning("liveness sweep failed", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        if self._rpc:
            stop_rpc_server(self._rpc)
            self._rpc = None
