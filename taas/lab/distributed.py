"""Distributed cloud: the API server and one agent per lab host as separate processes,
talking over a real message bus (RabbitMQ) and keeping state in a real database."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from taas.lab.allinone import ADMIN_TOKEN, free_port, token_for, write_tokens
from taas.lab.lab import Lab
from taas.lab.registry import HttpRegistry
from taas.lab.spec import LabSpec

DEFAULT_TRANSPORT = "rabbit://guest:guest@127.0.0.1:5672/"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (nobody reaps here) is dead
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _spawn(argv: list[str], log: Path) -> subprocess.Popen:
    out = open(log, "ab")
    try:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    finally:
        out.close()


class Distributed:
    """Same surface as AllInOne (lab, client(), settle()), with processes to kill."""

    def __init__(self, spec: LabSpec, workdir: str | Path, database_url: str,
                 transport_url: str = DEFAULT_TRANSPORT, reconcile_interval: float = 3.0,
                 lab_dir: str | Path | None = None):
        self.spec = spec
        self.workdir = Path(workdir)
        self.lab_dir = Path(lab_dir) if lab_dir else self.workdir / "lab"
        self.database_url = database_url
        self.transport_url = transport_url
        self.reconcile_interval = reconcile_interval
        self.port = free_port()
        # Its own exchange: clouds sharing one broker (tests, benchmarks) never cross-talk.
        self.exchange = f"taas-{uuid.uuid4().hex[:12]}"
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: subprocess.Popen | None = None
        self.agents: dict[str, subprocess.Popen] = {}
        self.lab: Lab | None = None

    # -- processes -------------------------------------------------------------------------

    def _conf(self, name: str, extra: str = "") -> Path:
        path = self.workdir / f"{name}.conf"
        path.write_text(
            f"[DEFAULT]\ntransport_url = {self.transport_url}\n"
            f"control_exchange = {self.exchange}\n"
            f"[api]\nbind_host = 127.0.0.1\nbind_port = {self.port}\n"
            f"[database]\nconnection = {self.database_url}\n"
            f"[auth]\nstrategy = tokens\ntokens_file = {self.workdir / 'tokens.yaml'}\n"
            f"[quotas]\ntap_service = -1\ntap_flow = -1\ntap_mirror = -1\n"
            f"[agent]\nreconcile_interval = {self.reconcile_interval}\n"
            f"report_interval = {self.reconcile_interval}\n{extra}")
        return path

    def start_server(self, timeout: float = 60.0) -> None:
        conf = self._conf("server")
        self.server = _spawn([sys.executable, "-m", "taas.cli", "server", "--config-file",
                              str(conf)], self.workdir / "server.log")
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.url + "/", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"taas server did not start; see {self.workdir}/server.log")
            time.sleep(0.1)

    def stop_server(self, sig: int = signal.SIGTERM) -> None:
        if self.server and self.server.poll() is None:
            self.server.send_signal(sig)
            self.server.wait(20)

    def start_agent(self, host: str) -> subprocess.Popen:
        ovs = self.lab.ovs(host)
        conf = self._conf(f"agent-{host}",
                          f"host = {host}\ntunnel_ip = {self.spec.host(host).ip}\n"
                          f"ovs_rundir = {ovs.rundir}\n")
        proc = _spawn([sys.executable, "-m", "taas.cli", "agent", "--config-file", str(conf)],
                      self.workdir / f"agent-{host}.log")
        self.agents[host] = proc
        return proc

    def kill_agent(self, host: str, sig: int = signal.SIGKILL) -> None:
        proc = self.agents.pop(host, None)
        if proc and proc.poll() is None:
            proc.send_signal(sig)
            proc.wait(20)

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> "Distributed":
        self.workdir.mkdir(parents=True, exist_ok=True)
        write_tokens(self.workdir / "tokens.yaml", self.spec)
        try:
            self.start_server()
            self.lab = Lab.up(self.spec, self.lab_dir,
                              registry=HttpRegistry(self.url, ADMIN_TOKEN))
            for host in self.spec.hosts:
                self.start_agent(host.name)
            self.settle()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for host in list(self.agents):
            self.kill_agent(host, signal.SIGTERM)
        if self.lab:
            self.lab.down()
        self.stop_server()

    def __enter__(self) -> "Distributed":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- processes that outlive `taas lab up` ----------------------------------------------

    def save(self, path: Path) -> None:
        """Record the processes, so `taas lab down` (another process) can stop them."""
        path.write_text(json.dumps({
            "url": self.url, "admin_token": ADMIN_TOKEN, "server": self.server.pid,
            "agents": {h: p.pid for h, p in self.agents.items()}}))
        path.chmod(0o600)

    @staticmethod
    def stop_saved(path: Path) -> int:
        """Stop the processes recorded by save(); returns how many were running."""
        if not path.exists():
            return 0
        record = json.loads(path.read_text())
        pids = [*record["agents"].values(), record["server"]]
        stopped = 0
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
                stopped += 1
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        for pid in pids:
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.1)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        path.unlink()
        return stopped

    # -- helpers ---------------------------------------------------------------------------

    def client(self, project: str | None = None) -> httpx.Client:
        token = token_for(project) if project else ADMIN_TOKEN
        return httpx.Client(base_url=self.url, headers={"X-Auth-Token": token}, timeout=30)

    def agents_view(self) -> dict[str, dict]:
        with self.client() as admin:
            return {a["host"]: a for a in admin.get("/v2.0/agents").raise_for_status()
                    .json()["agents"]}

    def settle(self, timeout: float = 60.0) -> dict[str, dict]:
        """Wait until every host's agent is alive and has applied its latest generation."""
        hosts = {h.name for h in self.spec.hosts}
        deadline = time.monotonic() + timeout
        while True:
            view = self.agents_view()
            done = [h for h in hosts if h in view and view[h]["alive"]
                    and (view[h]["applied_generation"] or 0) >= view[h]["generation"]]
            if len(done) == len(hosts):
                return view
            if time.monotonic() > deadline:
                raise TimeoutError(f"agents did not converge: {view}")
            time.sleep(0.2)
