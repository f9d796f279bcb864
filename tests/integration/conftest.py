"""One all-in-one cloud per test module: API server, lab of 2 hosts, one agent per host."""
from __future__ import annotations

import os
import shutil
import socket
import time

import pytest

from taas.lab import spec as lab_spec
from taas.lab.allinone import AllInOne
from taas.lab.pcap import Capture
from taas.lab.probe import socket_in

SPEC = {
    "name": "it",
    "underlay": "192.0.2.0/24",
    "hosts": ["h1", "h2"],
    "projects": {"alice": {}, "bob": {}},
    "networks": [
        {"name": "alice-net", "project": "alice", "cidr": "10.10.0.0/24"},
        {"name": "alice-mon-net", "project": "alice", "cidr": "10.11.0.0/24"},
        {"name": "bob-net", "project": "bob", "cidr": "10.20.0.0/24"},
        {"name": "bob-mon-net", "project": "bob", "cidr": "10.21.0.0/24"},
    ],
    "vms": [
        {"name": "a1", "host": "h1",
         "ports": [{"network": "alice-net", "ip": "10.10.0.11", "mac": "fa:16:3e:00:00:01"}]},
        {"name": "a2", "host": "h2", "ports": [{"network": "alice-net", "ip": "10.10.0.12"}]},
        {"name": "a3", "host": "h1", "ports": [{"network": "alice-net", "ip": "10.10.0.13"}]},
        # b1 shares a1's MAC on another network: copies of its traffic must never leak.
        {"name": "b1", "host": "h1",
         "ports": [{"network": "bob-net", "ip": "10.20.0.11", "mac": "fa:16:3e:00:00:01"}]},
        {"name": "b2", "host": "h2", "ports": [{"network": "bob-net", "ip": "10.20.0.12"}]},
    ],
    "monitors": [
        {"name": "mon-r", "host": "h2", "project": "alice",
         "ports": [{"network": "alice-mon-net", "ip": "10.11.0.100"}]},
        {"name": "mon-l", "host": "h1", "project": "alice",
         "ports": [{"network": "alice-mon-net", "ip": "10.11.0.101"}]},
        {"name": "bmon", "host": "h2", "project": "bob",
         "ports": [{"network": "bob-mon-net", "ip": "10.21.0.100"}]},
    ],
}


def _need_lab() -> None:
    missing = [b for b in ("ovs-vswitchd", "tcpdump", "ip") if not shutil.which(b)]
    reason = None
    if os.geteuid() != 0:
        reason = "the lab needs root (network namespaces)"
    elif missing:
        reason = f"the lab needs {missing}"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    _need_lab()
    spec = lab_spec.parse(SPEC)
    with AllInOne(spec, tmp_path_factory.mktemp("cloud"), reconcile_interval=2.0) as cloud:
        yield cloud


class Tenant:
    """A project's view: REST calls with its token, plus the lab around it."""

    def __init__(self, cloud: AllInOne, project: str):
        self.cloud = cloud
        self.http = cloud.client(project)

    def port_id(self, vm: str) -> str:
        return self.cloud.lab.port(vm).id

    def tap_service(self, monitor: str) -> dict:
        r = self.http.post("/v2.0/taas/tap_services",
                           json={"tap_service": {"name": f"ts-{monitor}",
                                                 "port_id": self.port_id(monitor)}})
        assert r.status_code == 201, r.text
        return r.json()["tap_service"]

    def tap_flow(self, service: dict, vm: str, direction: str) -> dict:
        r = self.http.post("/v2.0/taas/tap_flows", json={"tap_flow": {
            "tap_service_id": service["id"], "source_port": self.port_id(vm),
            "direction": direction}})
        assert r.status_code == 201, r.text
        return r.json()["tap_flow"]

    def wait_status(self, kind: str, rid: str, want: str = "ACTIVE", timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            body = self.http.get(f"/v2.0/taas/{kind}s/{rid}").json()[kind]
            if body["status"] == want or time.monotonic() > deadline:
                assert body["status"] == want, (body["status"], body.get("status_reason"))
                return body
            time.sleep(0.05)

    def delete(self, kind: str, rid: str) -> None:
        r = self.http.delete(f"/v2.0/taas/{kind}s/{rid}")
        assert r.status_code in (204, 404), r.text


@pytest.fixture
def alice(cloud):
    tenant = Tenant(cloud, "alice")
    made = []
    tenant.made = made
    yield tenant
    # Whatever a test created goes, so the next test starts from a cloud with no taps.
    for kind, rid in reversed(made):
        tenant.delete(kind, rid)
    cloud.settle()


def mirror(tenant: Tenant, vm: str, monitor: str, direction: str) -> tuple[dict, dict]:
    """Tap service on `monitor` and one tap flow from `vm`, both ACTIVE."""
    ts = tenant.tap_service(monitor)
    tenant.made.append(("tap_service", ts["id"]))
    tf = tenant.tap_flow(ts, vm, direction)
    tenant.made.append(("tap_flow", tf["id"]))
    tenant.wait_status("tap_flow", tf["id"])
    tenant.wait_status("tap_service", ts["id"])
    return ts, tf


class Monitors:
    """Captures on several monitors at once: `with Monitors(cloud, "mon-r") as seen:`."""

    def __init__(self, cloud: AllInOne, *names: str):
        self.cloud, self.names, self.caps, self.seen = cloud, names, {}, {}

    def __enter__(self) -> dict:
        for name in self.names:
            path = self.cloud.workdir / f"{name}-{time.monotonic_ns()}.pcap"
            self.caps[name] = Capture(self.cloud.lab.netns(name), "eth0", path).start()
        return self.seen

    def __exit__(self, *exc) -> None:
        time.sleep(0.5)   # copies still crossing br-tap and the tunnel
        for name, cap in self.caps.items():
            self.seen[name] = cap.stop(settle=0)


def send_udp_broadcast(cloud: AllInOne, vm: str, dst: str, count: int, port: int = 9999) -> None:
    sock = socket_in(cloud.lab.netns(vm), socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        for i in range(count):
            sock.sendto(f"broadcast {i}".encode(), (dst, port))
            time.sleep(0.02)
    finally:
        sock.close()


def wait_connectivity(cloud, vm: str, ip: str, timeout: float = 10.0) -> None:
    """After a vswitchd restart the underlay routes are relearned in the background: wait
    for the first echo reply (tests then demand that every later one comes back)."""
    deadline = time.monotonic() + timeout
    while not cloud.lab.ping(vm, ip, count=1, timeout=1.0).ok:
        assert time.monotonic() < deadline, f"{vm} cannot reach {ip} {timeout} s after repair"
