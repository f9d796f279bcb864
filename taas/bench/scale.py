"""(d) Simulated scale: one real server process (RabbitMQ, PostgreSQL), many fake-OVS agents."""
from __future__ import annotations

import dataclasses
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import yaml
from sqlalchemy import func, select

from taas import config
from taas.bench.simagents import SimAgents
from taas.db import agents as db_agents
from taas.db import hosts as db_hosts
from taas.db import models
from taas.dataplane import layout as L
from taas.db.engine import Database
from taas.lab.allinone import free_port
from taas.rpc import api as rpc

PROJECT = "5ca1e000000000000000000000000000"
MEMBER, ADMIN = "scale-member-token", "scale-admin-token"
SOURCES = 10                  # source ports per host; flows per host = SOURCES x fanout
SESSION_BASE = 10000          # first id of the default session_id_range


def write_conf(workdir: Path, db_url: str, transport_url: str, port: int,
               interval: float) -> Path:
    tokens = workdir / "tokens.yaml"
    tokens.write_text(yaml.safe_dump({"tokens": {
        ADMIN: {"user": "admin", "project_id": "adm" + "0" * 29, "roles": ["admin"]},
        MEMBER: {"user": "scale", "project_id": PROJECT, "roles": ["member"]}}}))
    path = workdir / "server.conf"
    path.write_text(
        f"[DEFAULT]\ntransport_url = {transport_url}\n"
        f"control_exchange = taas-scale-{uuid.uuid4().hex[:12]}\n"
        f"[api]\nbind_host = 127.0.0.1\nbind_port = {port}\n"
        f"[database]\nconnection = {db_url}\n"
        f"[auth]\nstrategy = tokens\ntokens_file = {tokens}\n"
        f"[quotas]\ntap_service = -1\ntap_flow = -1\ntap_mirror = -1\n"
        f"[agent]\nreconcile_interval = {interval}\nreport_interval = {interval}\n")
    return path


def start_server(conf: Path, workdir: Path, url: str, timeout: float = 60) -> subprocess.Popen:
    """`taas server` (create_app + ServerRpc under uvicorn) as its own process."""
    log = open(workdir / "server.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "taas.cli", "server", "--config-file",
                             str(conf)], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url + "/", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"taas server did not start; see {workdir}/server.log")
        time.sleep(0.2)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def self_cpu() -> float:
    return cpu_seconds(os.getpid())


@dataclasses.dataclass
class Layout:
    hosts: list[str]
    ports: dict[str, list[str]]        # host -> source port ids
    monitor: dict[str, str]            # host -> monitor port id
    service: dict[str, str]            # host -> tap service id (on its monitor port)

    def ofports(self) -> dict[str, dict[str, int]]:
        return {h: {pid: L.FIRST_VM_OFPORT + i
                    for i, pid in enumerate([*self.ports[h], self.monitor[h]])}
                for h in self.hosts}


def seed_ports(db: Database, hosts: list[str]) -> Layout:
    """One network; per host SOURCES VM ports and one monitor port with its tap service."""
    net_id = models.new_id()
    layout = Layout(hosts, {}, {}, {})
    rows, n = [models.Network(id=net_id, project_id=PROJECT, name="scale-net",
                              segmentation_id=1)], 0
    for h_index, host in enumerate(hosts):
        ids = []
        for _ in range(SOURCES + 1):
            pid = models.new_id()
            rows.append(models.Port(
                id=pid, project_id=PROJECT, network_id=net_id, name=f"p{n}",
                mac_address=f"fa:16:3e:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}",
                fixed_ips=[], host=host))
            ids.append(pid)
            n += 1
        layout.ports[host], layout.monitor[host] = ids[:SOURCES], ids[SOURCES]
        sid = models.new_id()
        rows.append(models.TapService(id=sid, project_id=PROJECT, name=f"ts-{host}",
                                      port_id=ids[SOURCES], session_id=SESSION_BASE + h_index))
        layout.service[host] = sid

    def insert(session):
        session.add_all(rows)
        db_hosts.bump_generations(session, hosts)
    db.write(insert)
    return layout


def seed_flows(db: Database, layout: Layout, fanout: int) -> int:
    """Per host SOURCES x fanout BOTH tap flows: source k -> the services of the next
    `fanout` hosts (all remote). Bumps every host's generation in the same transactions."""
    hosts, count = layout.hosts, 0
    for first in range(0, len(hosts), 20):
        chunk = hosts[first:first + 20]
        rows = []
        for host in chunk:
            h = hosts.index(host)
            for k in range(SOURCES * fanout):
                dest = hosts[(h + 1 + k // SOURCES) % len(hosts)]
                rows.append(models.TapFlow(
                    project_id=PROJECT, name=f"tf-{host}-{k}", direction="BOTH",
                    tap_service_id=layout.service[dest],
                    source_port=layout.ports[host][k % SOURCES]))
        count += len(rows)

        def insert(session, rows=rows, chunk=chunk):
            session.add_all(rows)
            db_hosts.bump_generations(session, chunk)
        db.write(insert)
    return count


def behind(db: Database, hosts: list[str]) -> int:
    """Hosts whose agent has not applied its current generation."""
    agent = models.Agent
    done = db.read(lambda s: s.scalar(select(func.count()).select_from(agent).where(
        agent.host.in_(hosts), agent.applied_generation >= agent.generation)))
    return len(hosts) - done


def wait_converged(db: Database, hosts: list[str], timeout: float = 900) -> float:
    started = time.monotonic()
    while behind(db, hosts):
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{behind(db, hosts)} of {len(hosts)} hosts not converged")
        time.sleep(0.1)
    return time.monotonic() - started


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def run(workdir: Path, db_url: str, transport_url: str, n_hosts: int, n_flows: int,
        interval: float = 120.0) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    api_url = f"http://127.0.0.1:{port}"
    conf_path = write_conf(workdir, db_url, transport_url, port, interval)
    conf = config.load(["--config-file", str(conf_path)])
    hosts = [f"sim{i:03d}" for i in range(n_hosts)]
    fanout = max(1, n_flows // (n_hosts * SOURCES))
    server = start_server(conf_path, workdir, api_url)
    db = Database.from_url(db_url)
    transport = rpc.get_transport(conf)
    out: dict = {"hosts": n_hosts, "server_pid": server.pid}
    sims = None
    try:
        layout = seed_ports(db, hosts)
        tunnel_ips = {h: f"198.18.{i // 250}.{i % 250 + 1}" for i, h in enumerate(hosts)}
        sims = SimAgents(transport, layout.ofports(), tunnel_ips, interval)
        cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
        sims.start()
        wait_converged(db, hosts)
        out["cold_start_s"] = time.monotonic() - t0
        out["cold_server_cpu"] = cpu_seconds(server.pid) - cpu0

        out["flows"] = seed_flows(db, layout, fanout)
        notifier = rpc.AgentNotifier(transport)
        cpu0, mine0, t0 = cpu_seconds(server.pid), self_cpu(), time.monotonic()
        notifier.hosts_changed(hosts)          # what the server casts after such a commit
        out["converge_s"] = wait_converged(db, hosts)
        out["server_cpu"] = cpu_seconds(server.pid) - cpu0
        out["agents_cpu"] = self_cpu() - mine0
        out["errors"] = sims.errors()
        out["not_active"] = sum(1 for a in sims.agents.values() if a.service.last_result
                                for st, _ in a.service.last_result.statuses.values()
                                if st != "ACTIVE")
        out["of_flows"] = sum(a.service.last_result.flows for a in sims.agents.values()
                              if a.service.last_result)

        # One tap flow created through the API: which agents get a "host changed" cast.
        src_host, dst_host = hosts[0], hosts[(fanout + 1) % n_hosts]
        with httpx.Client(base_url=api_url, headers={"X-Auth-Token": MEMBER}, timeout=60) as http:
            t0 = time.monotonic()
            r = http.post("/v2.0/taas/tap_flows", json={"tap_flow": {
                "tap_service_id": layout.service[dst_host],
                "source_port": layout.ports[src_host][0], "direction": "BOTH"}})
            if r.status_code != 201:
                raise RuntimeError(f"POST tap_flow: {r.status_code} {r.text[:300]}")
            wait_converged(db, hosts)
            out["post_converge_s"] = time.monotonic() - t0
            time.sleep(3)
            casts = sims.nudges.since(t0)
        out["casts"], out["cast_hosts"] = len(casts), sorted(set(casts))
        out["expected_hosts"] = sorted({src_host, dst_host})

        # host_state of one host: the query itself, and the agent's RPC round trip.
        q, c = [], []
        client = rpc.ServerClient(transport)
        for _ in range(50):
            t = time.monotonic()
            state = db.read(lambda s: db_agents.host_state(s, hosts[1]))
            q.append(time.monotonic() - t)
            t = time.monotonic()
            client.get_host_state(hosts[1])
            c.append(time.monotonic() - t)
        out["host_flows"] = len(state.tap_flows)
        out["host_services"] = len(state.tap_services)
        out["query_p50_ms"] = statistics.median(q) * 1000
        out["rpc_p50_ms"] = statistics.median(c) * 1000
        out["rpc_p95_ms"] = pct(c, 95) * 1000
    finally:
        if sims:
            sims.stop()
        transport.cleanup()
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        db.dispose()
    return out
