"""All-in-one cloud: API server, in-memory messaging and one TaaS agent per lab host, one process."""
from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

import httpx
import uvicorn
import yaml
from oslo_config import cfg

from taas import config
from taas.agent.main import Agent
from taas.agent.ovsport import AgentOvs
from taas.lab.lab import Lab
from taas.lab.registry import HttpRegistry
from taas.lab.spec import LabSpec
from taas.rpc import api as rpc

LOG = logging.getLogger(__name__)
ADMIN_TOKEN = "admin-token"
ADMIN_PROJECT = "ad" + "0" * 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def token_for(project: str) -> str:
    return f"{project}-token"


def write_tokens(path: Path, spec: LabSpec) -> Path:
    """The cloud admin's token and one member token per project of the spec."""
    tokens = {ADMIN_TOKEN: {"user": "admin", "project_id": ADMIN_PROJECT, "roles": ["admin"]}}
    for project in spec.projects:
        tokens[token_for(project.name)] = {"user": project.name, "project_id": project.id,
                                           "roles": ["member"]}
    path.write_text(yaml.safe_dump({"tokens": tokens}))
    return path


class ApiThread:
    """uvicorn serving an app on 127.0.0.1 in a background thread."""

    def __init__(self, app, port: int):
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                                    log_level="warning", lifespan="off"))
        self.url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(target=self.server.run, daemon=True, name="taas-api")

    def start(self, timeout: float = 20.0) -> "ApiThread":
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the API server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(10)


class AllInOne:
    """The demo's and the integration tests' cloud. start() then stop(), or use `with`."""

    def __init__(self, spec: LabSpec, workdir: str | Path, database_url: str | None = None,
                 reconcile_interval: float = 5.0):
        self.spec = spec
        self.workdir = Path(workdir)
        self.database_url = database_url or f"sqlite:///{self.workdir / 'taas.sqlite'}"
        self.reconcile_interval = reconcile_interval
        self.api: ApiThread | None = None
        self.lab: Lab | None = None
        self.agents: dict[str, Agent] = {}
        self._server_rpc: rpc.ServerRpc | None = None
        self.transport = None

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> "AllInOne":
        from taas.api.app import create_app
        self.workdir.mkdir(parents=True, exist_ok=True)
        tokens_file = write_tokens(self.workdir / "tokens.yaml", self.spec)
        settings = config.Settings(database_url=self.database_url, tokens_file=str(tokens_file),
                                   report_interval=self.reconcile_interval,
                                   quota_tap_flow=-1, quota_tap_service=-1)
        conf = cfg.ConfigOpts()
        config.register_opts(conf)
        conf([], project="taas")
        # One in-memory transport shared by everyone: fake:// exchanges are per transport.
        self.transport = rpc.get_transport(conf, url="fake://")
        self._server_rpc = rpc.ServerRpc(self.transport)
        app = create_app(settings, notifier=self._server_rpc.notifier)
        self._server_rpc.start(app.state.runtime.db, settings.report_interval)
        self.api = ApiThread(app, free_port()).start()
        try:
            self.lab = Lab.up(self.spec, self.workdir / "lab",
                              registry=HttpRegistry(self.api.url, ADMIN_TOKEN))
            for host in self.spec.hosts:
                self.start_agent(host.name)
        except BaseException:
            self.stop()
            raise
        return self

    def start_agent(self, host: str) -> Agent:
        ip = self.spec.host(host).ip
        agent = Agent(self.transport, host, ip, AgentOvs(self.lab.ovs(host)),
                      self.reconcile_interval).start()
        self.agents[host] = agent
        return agent

    def stop_agent(self, host: str) -> None:
        agent = self.agents.pop(host, None)
        if agent:
            agent.stop()

    def stop(self) -> None:
        for host in list(self.agents):
            self.stop_agent(host)
        if self.lab:
            self.lab.down()
        if self._server_rpc:
            self._server_rpc.stop()
        if self.api:
            self.api.stop()

    def __enter__(self) -> "AllInOne":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers for callers ---------------------------------------------------------------

    def client(self, project: str | None = None) -> httpx.Client:
        """An HTTP client acting as a project's member (None: the cloud admin)."""
        token = token_for(project) if project else ADMIN_TOKEN
        return httpx.Client(base_url=self.api.url, headers={"X-Auth-Token": token}, timeout=30)

    def settle(self, timeout: float = 20.0) -> None:
        """Wait until every agent has finished a pass that started after this call."""
        marks = {h: a.service.passes for h, a in self.agents.items()}
        for host, agent in self.agents.items():
            agent.service.nudge()
            if not agent.service.wait_for_pass(marks[host], timeout):
                raise TimeoutError(f"agent {host} did not reconcile within {timeout}s")
        # A pass that was already running when nudged may have read older state: one more.
        marks = {h: a.service.passes for h, a in self.agents.items()}
        for host, agent in self.agents.items():
            agent.service.nudge()
            agent.service.wait_for_pass(marks[host], timeout)
