"""Bench (b) and (c) on the 2-host lab: API-to-first-copy latency and iperf3 under mirroring."""
from __future__ import annotations

import contextlib
import json
import socket
import statistics
import struct
import subprocess
import threading
import time
from pathlib import Path

from taas.agent.ovsport import AgentOvs
from taas.agent.reconciler import Reconciler
from taas.bench.flows import StaticSource
from taas.dataplane.model import HostState, TapFlowSpec, TapServiceSpec
from taas.lab import spec as lab_spec
from taas.lab.probe import _checksum, socket_in

SPEC = {
    "name": "bench",
    "underlay": "192.0.2.0/24",
    "hosts": ["h1", "h2"],
    "projects": {"alice": {}},
    "networks": [
        {"name": "alice-net", "project": "alice", "cidr": "10.10.0.0/24"},
        {"name": "alice-mon-net", "project": "alice", "cidr": "10.11.0.0/24"},
    ],
    "vms": [
        {"name": "a1", "host": "h1", "ports": [{"network": "alice-net", "ip": "10.10.0.11"}]},
        {"name": "a2", "host": "h2", "ports": [{"network": "alice-net", "ip": "10.10.0.12"}]},
    ],
    "monitors": [
        {"name": "mon-l", "host": "h1", "project": "alice",
         "ports": [{"network": "alice-mon-net", "ip": "10.11.0.101"}]},
        {"name": "mon-r", "host": "h2", "project": "alice",
         "ports": [{"network": "alice-mon-net", "ip": "10.11.0.100"}]},
    ],
}
CASES = (("none", None), ("local", "mon-l"), ("remote", "mon-r"))


def api_available() -> bool:
    """True once the API application (taas.api.app.create_app) imports."""
    try:
        from taas.api.app import create_app  # noqa: F401
    except Exception:
        return False
    return True


def rx_packets(lab, vm: str) -> int:
    out = lab.exec(vm, ["ip", "-j", "-s", "link", "show", "eth0"], check=True).stdout
    return json.loads(out)[0]["stats64"]["rx"]["packets"]


def iperf(lab, seconds: int, port: int = 5201) -> float:
    """TCP a1 -> a2 for `seconds`; the receiver's Mbit/s."""
    server = lab.popen("a2", ["iperf3", "-s", "-1", "-p", str(port)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        dst = lab.port("a2").ip
        for _ in range(50):     # until the server listens
            out = lab.exec("a1", ["iperf3", "-c", dst, "-p", str(port), "-t", str(seconds),
                                  "-J"], timeout=seconds + 30)
            try:
                return json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"] / 1e6
            except (ValueError, KeyError):   # the server was not listening yet
                time.sleep(0.2)
        raise RuntimeError(f"iperf3 failed: {out.stdout[-500:]} {out.stderr[-500:]}")
    finally:
        server.kill()
        server.wait()


# -- (c) via a static desired state per host (no API needed) -------------------------------

def static_states(lab, case: str, generation: int) -> dict[str, HostState]:
    """Desired state of h1 and h2 for a BOTH mirror of a1 to mon-l (local) or mon-r (remote)."""
    a1 = lab.port("a1").id
    states = {"h1": HostState("h1", generation), "h2": HostState("h2", generation)}
    if case == "local":
        states["h1"] = HostState("h1", generation,
                                 (TapServiceSpec("ts-l", lab.port("mon-l").id, 1),),
                                 (TapFlowSpec("tf-l", "ts-l", a1, "BOTH", 1, "h1",
                                              lab.host("h1").tunnel_ip),))
    elif case == "remote":
        states["h1"] = HostState("h1", generation, (), (
            TapFlowSpec("tf-r", "ts-r", a1, "BOTH", 2, "h2", lab.host("h2").tunnel_ip),))
        states["h2"] = HostState("h2", generation,
                                 (TapServiceSpec("ts-r", lab.port("mon-r").id, 2),))
    return states


def throughput_static(workdir: Path, seconds: int, rounds: int) -> list[tuple[str, float, int]]:
    from taas.lab.lab import Lab
    from taas.lab.registry import InMemoryRegistry
    lab = Lab.up(lab_spec.parse(SPEC), workdir / "lab", registry=InMemoryRegistry())
    ovs = {h: AgentOvs(lab.ovs(h)) for h in ("h1", "h2")}
    try:
        sources = {h: StaticSource(HostState(h, 0)) for h in ovs}
        agents = {h: Reconciler(h, lab.host(h).tunnel_ip, sources[h], ovs[h]) for h in ovs}
        results, gen = [], 0
        for _ in range(rounds):    # cases interleaved, so a noisy neighbour hits all alike
            for case, monitor in CASES:
                gen += 1
                for host, state in static_states(lab, case, gen).items():
                    sources[host].state = state
                    agents[host].reconcile()
                    bad = {k: v for k, v in sources[host].statuses.items() if v[0] != "ACTIVE"}
                    if bad:
                        raise RuntimeError(f"{case} on {host}: {bad}")
                results.append(_measure(lab, case, monitor, seconds))
        return results
    finally:
        for agent_ovs in ovs.values():
            agent_ovs.close()
        lab.down()


def _measure(lab, case, monitor, seconds) -> tuple[str, float, int]:
    before = rx_packets(lab, monitor) if monitor else 0
    mbps = iperf(lab, seconds)
    copies = rx_packets(lab, monitor) - before if monitor else 0
    if monitor and copies < 100:
        raise RuntimeError(f"{case}: the monitor saw only {copies} packets: not mirrored")
    return case, mbps, copies


# -- via the all-in-one cloud (API, RPC, real agents) -------------------------------------

class Tenant:
    """Alice's REST calls on the all-in-one cloud."""

    def __init__(self, cloud):
        self.cloud, self.http = cloud, cloud.client("alice")

    def post(self, kind: str, body: dict) -> dict:
        r = self.http.post(f"/v2.0/taas/{kind}s", json={kind: body})
        if r.status_code != 201:
            raise RuntimeError(f"POST {kind}: {r.status_code} {r.text[:300]}")
        return r.json()[kind]

    def delete(self, kind: str, rid: str) -> None:
        self.http.delete(f"/v2.0/taas/{kind}s/{rid}")

    def wait_active(self, kind: str, rid: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.http.get(f"/v2.0/taas/{kind}s/{rid}").json()[kind]["status"] != "ACTIVE":
            if time.monotonic() > deadline:
                raise TimeoutError(f"{kind} {rid} not ACTIVE after {timeout}s")
            time.sleep(0.05)

    def service(self, monitor: str) -> dict:
        ts = self.post("tap_service", {"name": f"bench-{monitor}",
                                       "port_id": self.cloud.lab.port(monitor).id})
        self.wait_active("tap_service", ts["id"])
        return ts

    def flow(self, ts: dict, vm: str = "a1") -> dict:
        return self.post("tap_flow", {"tap_service_id": ts["id"], "direction": "BOTH",
                                      "source_port": self.cloud.lab.port(vm).id})


@contextlib.contextmanager
def all_in_one(workdir: Path):
    from taas.lab.allinone import AllInOne
    with AllInOne(lab_spec.parse(SPEC), workdir / "cloud", reconcile_interval=2.0) as cloud:
        yield cloud


def throughput_api(workdir: Path, seconds: int, rounds: int) -> list[tuple[str, float, int]]:
    with all_in_one(workdir) as cloud:
        alice, results = Tenant(cloud), []
        for case, monitor in CASES * rounds:
            made = []
            if monitor:
                ts = alice.service(monitor)
                tf = alice.flow(ts)
                alice.wait_active("tap_flow", tf["id"])
                made = [("tap_flow", tf["id"]), ("tap_service", ts["id"])]
            results.append(_measure(cloud.lab, case, monitor, seconds))
            for kind, rid in made:
                alice.delete(kind, rid)
            cloud.settle()
        return results


# -- (b) API call -> first copy at the monitor --------------------------------------------

class Pinger(threading.Thread):
    """ICMP echo requests from a VM every `interval` seconds until stop()."""

    def __init__(self, netns: str, dst: str, interval: float = 0.005):
        super().__init__(daemon=True, name="bench-pinger")
        self.sock = socket_in(netns, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.dst, self.interval, self._halt = dst, interval, threading.Event()

    def run(self):
        seq = 0
        while not self._halt.wait(self.interval):
            seq = (seq + 1) & 0xFFFF
            head = struct.pack("!BBHHH", 8, 0, 0, 0x7A5A, seq)
            payload = b"taas-bench" * 4
            csum = _checksum(head + payload)
            try:
                self.sock.sendto(struct.pack("!BBHHH", 8, 0, csum, 0x7A5A, seq) + payload,
                                 (self.dst, 0))
            except OSError:  # the VM's port is being re-plugged (a move): keep going
                continue

    def stop(self):
        self._halt.set()
        self.join(2)
        self.sock.close()


class LiveCapture(threading.Thread):
    """`tcpdump -l` in a namespace; the monotonic time each ICMP line was read."""

    def __init__(self, netns: str):
        super().__init__(daemon=True, name="bench-tcpdump")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, "tcpdump", "-l", "-n", "-i", "eth0", "icmp"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.times: list[float] = []
        deadline = time.monotonic() + 10
        while "listening on" not in self.proc.stderr.readline():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("tcpdump did not start")

    def run(self):
        for _ in self.proc.stdout:
            self.times.append(time.monotonic())

    def first_after(self, t0: float, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            later = [t for t in self.times if t > t0]
            if later:
                return later[0]
            time.sleep(0.001)
        return None

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)


def latency_api(workdir: Path, tries: int) -> dict[str, list[float]]:
    """case -> seconds from just before POST tap_flow to the first copy captured."""
    with all_in_one(workdir) as cloud:
        alice, lab, out = Tenant(cloud), cloud.lab, {}
        pinger = Pinger(lab.netns("a1"), lab.port("a2").ip)
        pinger.start()
        try:
            for case, monitor in CASES[1:]:
                ts = alice.service(monitor)
                cap = LiveCapture(lab.netns(monitor))
                cap.start()
                samples = []
                try:
                    for _ in range(tries):
                        t0 = time.monotonic()
                        tf = alice.flow(ts)
                        t1 = cap.first_after(t0, 30)
                        alice.delete("tap_flow", tf["id"])
                        cloud.settle()
                        time.sleep(0.3)           # copies still in flight
                        if t1 is None:
                            raise RuntimeError(f"{case}: no copy within 30 s")
                        samples.append(t1 - t0)
                finally:
                    cap.stop()
                    alice.delete("tap_service", ts["id"])
                    cloud.settle()
                out[case] = samples
        finally:
            pinger.stop()
        return out


def pct(values: list[float], q: float) -> float:
    """Percentile by linear interpolation (statistics.quantiles, inclusive)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]
