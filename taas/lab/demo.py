"""`taas demo`: a 2-host, 2-project cloud; a tenant mirrors a VM to its monitor; we watch."""
from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from taas.lab import spec as lab_spec
from taas.lab.allinone import AllInOne
from taas.lab.pcap import Capture

EXAMPLE_SPEC = Path(__file__).resolve().parents[2] / "examples" / "lab.yaml"


def step(text: str) -> None:
    print(f"==> {text}", flush=True)


def wait_active(client, path: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(path).raise_for_status().json()
        resource = next(iter(body.values()))
        if resource["status"] in ("ACTIVE", "ERROR") or time.monotonic() > deadline:
            return resource
        time.sleep(0.1)


def port_id(client, name: str) -> str:
    ports = client.get("/v2.0/ports", params={"name": name}).raise_for_status().json()["ports"]
    if len(ports) != 1:
        raise RuntimeError(f"expected one port named {name}, found {len(ports)}")
    return ports[0]["id"]


def choose_actors(spec: lab_spec.LabSpec):
    """The first project with a monitor: its monitor, a VM on another host, a peer VM."""
    for monitor in (v for v in spec.vms if v.monitor):
        vms = [v for v in spec.vms if v.project == monitor.project and not v.monitor]
        for src in vms:
            if src.host == monitor.host:
                continue
            net = src.ports[0].network
            peers = [v for v in spec.vms if v is not src and not v.monitor
                     and any(p.network == net for p in v.ports)]
            if peers:
                peer = max(peers, key=lambda v: v.host != src.host)
                other = next((v for v in spec.vms if v.monitor and v.project != monitor.project), None)
                return monitor, src, peer, other
    raise RuntimeError("the spec needs a project with a monitor, a VM on another host and a peer")


def run(spec_path: Path, keep_dir: Path) -> int:
    spec = lab_spec.load(spec_path)
    monitor, src, peer, other = choose_actors(spec)
    started = time.monotonic()
    step(f"bringing up lab '{spec.name}': {len(spec.hosts)} hosts, {len(spec.projects)} projects, "
         f"{len(spec.vms)} VMs; API server and one agent per host (in-memory messaging)")
    with AllInOne(spec, keep_dir / "cloud") as cloud:
        step(f"cloud up in {time.monotonic() - started:.1f}s, API at {cloud.api.url}")
        tenant = cloud.client(monitor.project)
        src_port, mon_port = src.ports[0], monitor.ports[0]
        step(f"as tenant '{monitor.project}': tap service on {mon_port.name} "
             f"(monitor on {monitor.host}), tap flow BOTH from {src_port.name} (on {src.host})")
        ts = tenant.post("/v2.0/taas/tap_services", json={"tap_service": {
            "name": "demo-ts", "port_id": port_id(tenant, mon_port.name)}}).raise_for_status().json()
        tf = tenant.post("/v2.0/taas/tap_flows", json={"tap_flow": {
            "name": "demo-tf", "tap_service_id": ts["tap_service"]["id"], "direction": "BOTH",
            "source_port": port_id(tenant, src_port.name)}}).raise_for_status().json()
        flow = wait_active(tenant, f"/v2.0/taas/tap_flows/{tf['tap_flow']['id']}")
        service = wait_active(tenant, f"/v2.0/taas/tap_services/{ts['tap_service']['id']}")
        step(f"tap service {service['status']}, tap flow {flow['status']}")
        if flow["status"] != "ACTIVE":
            print(f"   reason: {flow.get('status_reason')}")
            return 1

        pcap = keep_dir / f"{monitor.name}.pcap"
        captures = {monitor.name: Capture(cloud.lab.netns(monitor.name), "eth0", pcap).start()}
        if other:
            captures[other.name] = Capture(cloud.lab.netns(other.name), "eth0",
                                           keep_dir / f"{other.name}.pcap").start()
        peer_ip = next(p.ip for p in peer.ports if p.network == src_port.network)
        step(f"traffic: {src.name} pings {peer.name} ({peer_ip}, on {peer.host}) 5 times, "
             f"then a 1 MB TCP transfer")
        netns = cloud.lab.netns(src.name)
        pings = cloud.lab.ping(src.name, peer_ip, count=5)
        server = subprocess.Popen(["ip", "netns", "exec", cloud.lab.netns(peer.name),
                                   "iperf3", "-s", "-1"], stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        subprocess.run(["ip", "netns", "exec", netns, "iperf3", "-c", peer_ip, "-n", "1M"],
                       check=True, stdout=subprocess.DEVNULL)
        server.wait(10)
        seen = {name: cap.stop() for name, cap in captures.items()}

        packets = seen[monitor.name]
        by_dir = collections.Counter(
            "OUT (sent by source)" if p.src_mac == src_port.mac else
            "IN (delivered to source)" if p.dst_mac in (src_port.mac, "ff:ff:ff:ff:ff:ff")
            else "other" for p in packets)
        icmp = collections.Counter(
            f"{p.src_ip} > {p.dst_ip} echo {'request' if p.icmp_type == 8 else 'reply'}"
            for p in packets if p.is_icmp_echo)
        step(f"monitor {monitor.name} captured {len(packets)} copies: "
             + ", ".join(f"{k}: {v}" for k, v in sorted(by_dir.items())))
        print("   ICMP: " + ", ".join(f"{k}: {v}" for k, v in sorted(icmp.items()))
              + f"; TCP: {sum(1 for p in packets if p.proto == 6)} segments")
        for p in [p for p in packets if p.is_icmp_echo][:4]:
            print(f"   {p.summary()}")
        print(f"   pcap: {pcap}")
        if other:
            step(f"the other tenant's monitor {other.name} captured {len(seen[other.name])} packets")

        tenant.delete(f"/v2.0/taas/tap_flows/{tf['tap_flow']['id']}").raise_for_status()
        tenant.delete(f"/v2.0/taas/tap_services/{ts['tap_service']['id']}").raise_for_status()
        step("tap flow and tap service deleted; tearing the lab down")
    ok = by_dir.get("OUT (sent by source)", 0) >= 5 and by_dir.get("IN (delivered to source)", 0) >= 5
    ok = ok and (not other or not seen[other.name])
    step(f"{'done' if ok else 'FAILED'} in {time.monotonic() - started:.1f}s")
    return 0 if ok else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="taas demo", description=__doc__)
    parser.add_argument("--spec", type=Path, default=EXAMPLE_SPEC)
    parser.add_argument("--dir", type=Path, default=None,
                        help="where to keep the pcap files (default: a new temp dir)")
    args = parser.parse_args(argv)
    keep_dir = args.dir or Path(tempfile.mkdtemp(prefix="taas-demo-"))
    keep_dir.mkdir(parents=True, exist_ok=True)
    return run(args.spec, keep_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
