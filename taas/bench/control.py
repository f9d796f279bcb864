"""`taas bench control`: agent restart convergence, API->copy over RabbitMQ, migration."""
from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from taas.agent.ovsport import AgentOvs
from taas.agent.reconciler import Reconciler
from taas.bench import report, scale
from taas.bench.flows import HOST, TUNNEL_IP, StaticSource, desired_state, start_host
from taas.bench.labnet import LiveCapture, Pinger, pct
from taas.lab import spec as lab_spec
from taas.lab.distributed import DEFAULT_TRANSPORT, Distributed

PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1/postgres"
SPEC = {
    "name": "bctl", "underlay": "192.0.2.0/24", "hosts": ["h1", "h2", "h3"],
    "projects": {"alice": {}},
    "networks": [{"name": "net", "project": "alice", "cidr": "10.10.0.0/24"},
                 {"name": "mon-net", "project": "alice", "cidr": "10.11.0.0/24"}],
    "vms": [{"name": "a1", "host": "h1", "ports": [{"network": "net", "ip": "10.10.0.11"}]},
            {"name": "a2", "host": "h2", "ports": [{"network": "net", "ip": "10.10.0.12"}]}],
    "monitors": [{"name": "mon", "host": "h3", "project": "alice",
                  "ports": [{"network": "mon-net", "ip": "10.11.0.100"}]}],
}


def restart_convergence(workdir: Path) -> list[list]:
    """(a) 10,000 tap flows applied; a new agent (nothing cached) starts: its first pass."""
    state = desired_state(1000, 10, 10)
    ovs = start_host(workdir, 1000)
    rows = []
    try:
        first = AgentOvs(ovs)
        applied = Reconciler(HOST, TUNNEL_IP, StaticSource(state), first).reconcile()
        first.close()
        for case, restart_vswitchd in (("agent restart", False),
                                       ("agent + ovs-vswitchd restart", True)):
            if restart_vswitchd:
                ovs.restart_vswitchd()
            t0 = time.monotonic()
            fresh = AgentOvs(ovs)       # new OVSDB connection, nothing cached
            result = Reconciler(HOST, TUNNEL_IP, StaticSource(state), fresh).reconcile()
            rows.append([case, f"{len(state.tap_flows):,}", f"{applied.flows:,}",
                         result.added, result.removed, f"{time.monotonic() - t0:.2f}"])
            fresh.close()
    finally:
        ovs.stop()
    return rows


def _database() -> tuple[str, str]:
    name = f"taas_bench_{uuid.uuid4().hex[:8]}"
    with create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return name, PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def _drop(name: str) -> None:
    with create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def over_rabbit(workdir: Path, tries: int, moves: int) -> tuple[list[float], list[float]]:
    """(b) POST tap_flow -> first copy, and (c) port move -> first copy from the new host,
    on a cloud of separate processes over RabbitMQ and PostgreSQL."""
    name, url = _database()
    try:
        with Distributed(lab_spec.parse(SPEC), workdir, url, DEFAULT_TRANSPORT,
                         reconcile_interval=5.0) as cloud:
            lab, http = cloud.lab, cloud.client("alice")
            ts = http.post("/v2.0/taas/tap_services", json={"tap_service": {
                "port_id": lab.port("mon").id}}).raise_for_status().json()["tap_service"]
            cloud.settle()
            pinger, cap = Pinger(lab.netns("a1"), lab.port("a2").ip), LiveCapture(lab.netns("mon"))
            pinger.start()
            cap.start()
            create, move = [], []
            try:
                for _ in range(tries):
                    t0 = time.monotonic()
                    tf = http.post("/v2.0/taas/tap_flows", json={"tap_flow": {
                        "tap_service_id": ts["id"], "source_port": lab.port("a1").id,
                        "direction": "OUT"}}).raise_for_status().json()["tap_flow"]
                    t1 = cap.first_after(t0, 30)
                    http.delete(f"/v2.0/taas/tap_flows/{tf['id']}").raise_for_status()
                    cloud.settle()
                    time.sleep(0.3)
                    if t1 is None:
                        raise RuntimeError("no copy within 30 s of the create")
                    create.append(t1 - t0)
                http.post("/v2.0/taas/tap_flows", json={"tap_flow": {
                    "tap_service_id": ts["id"], "source_port": lab.port("a1").id,
                    "direction": "OUT"}}).raise_for_status()
                cloud.settle()
                for i in range(moves):
                    # The pinger's socket lives in a1's namespace: it follows the VM.
                    # Copies seen after move() returns come from the new host (the old port
                    # is gone); timing from the start of the move bounds the delay from above.
                    t0 = time.monotonic()
                    lab.move("a1", "h2" if i % 2 == 0 else "h1")
                    t1 = cap.first_after(time.monotonic(), 30)
                    if t1 is None:
                        raise RuntimeError("no copy within 30 s of the move")
                    move.append(t1 - t0)
                    cloud.settle()
            finally:
                cap.stop()
                pinger.stop()
    finally:
        _drop(name)
    return create, move


def scale_run(workdir: Path, hosts: int, flows: int) -> dict:
    """(d) one real server process, `hosts` simulated agents, on a fresh PostgreSQL database."""
    name, url = _database()
    try:
        return scale.run(workdir, url, DEFAULT_TRANSPORT, hosts, flows)
    finally:
        _drop(name)


def scale_text(d: dict) -> str:
    per_host = d["flows"] // d["hosts"]
    return "\n".join([
        f"### (d) Simulated scale: one server, {d['hosts']} agents, {d['flows']:,} tap flows", "",
        f"ONE real server process (`taas server`: create_app + ServerRpc under uvicorn) on "
        f"PostgreSQL (fresh database) and RabbitMQ; {d['hosts']} simulated agents as threads "
        "of the bench process, each the real taas.agent Agent (own RPC server on the agent "
        "topic, own ServerClient, own reconcile loop) over one shared transport, but WITHOUT "
        "OVS: bridges are fake (every port of the host counts as plugged, flows are only "
        "diffed in memory); each pass still fetches host_state over RPC, runs the pure "
        "compiler, reports statuses and heartbeats. Ports, tap services and tap flows were "
        f"inserted with the DB layer: per host 10 source ports and 1 monitor port with its tap "
        f"service; {per_host} BOTH tap flows per host, all to monitors on other hosts. Then "
        "every host's generation was bumped and all agents were cast `host_changed` (the "
        "cast the server sends after a commit). Converged = applied_generation == generation "
        "for every host in the agents table. Both processes share 2 CPUs.", "",
        report.table(["measure", "value"], [
            [f"cold start: {d['hosts']} agents started -> all converged (tap services only)",
             f"{d['cold_start_s']:.1f} s (server CPU {d['cold_server_cpu']:.1f} s)"],
            [f"nudge all -> all {d['hosts']} converged on {d['flows']:,} tap flows",
             f"{d['converge_s']:.1f} s"],
            ["server process CPU during that convergence", f"{d['server_cpu']:.1f} s "
             f"({d['server_cpu'] / d['converge_s']:.2f} CPU)"],
            ["agents process CPU (all simulated agents)", f"{d['agents_cpu']:.1f} s"],
            ["statuses not ACTIVE after convergence", d["not_active"]],
            ["casts for one tap flow create (POST via API)",
             f"{d['casts']} ({', '.join(d['cast_hosts'])}; source + monitor host)"],
            ["POST tap_flow -> both hosts converged", f"{d['post_converge_s'] * 1000:.0f} ms"],
            [f"host_state query, one host ({d['host_flows']} flows), p50 of 50",
             f"{d['query_p50_ms']:.1f} ms"],
            ["get_host_state RPC round trip over RabbitMQ, p50 / p95",
             f"{d['rpc_p50_ms']:.1f} / {d['rpc_p95_ms']:.1f} ms"]])])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="taas bench control", description=__doc__)
    parser.add_argument("--tries", type=int, default=20)
    parser.add_argument("--moves", type=int, default=6)
    parser.add_argument("--hosts", type=int, default=200, help="simulated agents in (d)")
    parser.add_argument("--flows", type=int, default=20000, help="tap flows in (d)")
    args = parser.parse_args(argv)
    measured_on = report.machine()
    with tempfile.TemporaryDirectory(prefix="taas-bench-ctl-") as tmp:
        restart = restart_convergence(Path(tmp) / "a")
        create, move = over_rabbit(Path(tmp) / "b", args.tries, args.moves)
        scaled = scale_run(Path(tmp) / "d", args.hosts, args.flows)
    body = "\n".join([
        f"Measured on: {measured_on}", "",
        "### (a) Convergence after an agent restart (10,000 tap flows on one host)", "",
        "A private ovs-vswitchd (dummy datapath) holding the flows of 1,000 ports x 10 BOTH tap "
        "flows; a new agent (new OVSDB connection, nothing cached) makes its first pass. The "
        "desired state comes from a static source here, not over RPC.", "",
        report.table(["case", "tap flows", "OpenFlow flows", "added", "removed", "first pass s"],
                     restart), "",
        "### (b, c) Over RabbitMQ: API call -> first copy, and migration -> first copy", "",
        "Server and 3 agents as separate processes, RabbitMQ and PostgreSQL; ICMP a1 -> a2 "
        "every 5 ms, `tcpdump -l` on the monitor (h3). (b): POST tap_flow -> first copy. "
        "(c): start of `lab.move` of the source VM (unplug, re-plug on the other host, PUT "
        "binding:host_id, production flows) -> first copy seen after the move returned (an "
        "upper bound: only the new host can send then).", "",
        report.table(["measure", "tries", "p50 ms", "p95 ms", "max ms"], [
            ["API call -> first copy", len(create), f"{pct(create, 50) * 1000:.0f}",
             f"{pct(create, 95) * 1000:.0f}", f"{max(create) * 1000:.0f}"],
            ["port move -> first copy", len(move), f"{pct(move, 50) * 1000:.0f}",
             f"{pct(move, 95) * 1000:.0f}", f"{max(move) * 1000:.0f}"]]),
        "", scale_text(scaled)])
    print(body)
    report.write_section("control", body)
    return 0
