"""HttpRegistry speaks the Neutron API the TaaS server implements (checked on a mock)."""
from __future__ import annotations

import json

import httpx
import pytest

from taas.lab.registry import HttpRegistry, InMemoryRegistry, RegistryError


class FakeNeutron:
    def __init__(self):
        self.requests = []
        self.seg = 41

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, request.url.path, body,
                              request.headers.get("X-Auth-Token")))
        if request.method == "POST" and request.url.path == "/v2.0/networks":
            if body["network"]["name"] == "refused":
                return httpx.Response(409, json={"NeutronError": {
                    "type": "Conflict", "message": "no more segmentation ids", "detail": ""}})
            self.seg += 1
            return httpx.Response(201, json={"network": {
                **body["network"], "id": "net-1", "provider:segmentation_id": self.seg}})
        if request.method == "POST" and request.url.path == "/v2.0/ports":
            return httpx.Response(201, json={"port": {**body["port"], "id": "port-1"}})
        if request.method == "PUT":
            return httpx.Response(200, json={"port": {"id": "port-1", **body["port"]}})
        if request.method == "DELETE":
            return httpx.Response(404 if "gone" in request.url.path else 204)
        return httpx.Response(500, text="unexpected")


@pytest.fixture
def fake():
    return FakeNeutron()


@pytest.fixture
def reg(fake):
    return HttpRegistry("http://api.test/", "adm-token", transport=httpx.MockTransport(fake))


def test_create_network_and_port_bodies(reg, fake):
    net = reg.create_network(name="red", project_id="p1", shared=True)
    assert (net.id, net.segmentation_id) == ("net-1", 42)
    port_id = reg.create_port(name="vm1-red", network_id=net.id, project_id="p1",
                              mac="fa:16:3e:00:00:01", ip="10.0.0.5", device_id="vm1", host="h1")
    assert port_id == "port-1"
    (_, path1, body1, token1), (_, path2, body2, _) = fake.requests
    assert (path1, token1) == ("/v2.0/networks", "adm-token")
    assert body1 == {"network": {"name": "red", "project_id": "p1", "shared": True}}
    assert path2 == "/v2.0/ports"
    port = body2["port"]
    assert port["fixed_ips"] == [{"ip_address": "10.0.0.5"}]
    assert (port["network_id"], port["mac_address"], port["device_id"],
            port["binding:host_id"], port["name"]) == ("net-1", "fa:16:3e:00:00:01", "vm1",
                                                       "h1", "vm1-red")


def test_bind_and_delete(reg, fake):
    reg.bind_port("port-1", "h2")
    reg.delete_port("port-1")
    reg.delete_port("gone")            # 404 on delete is fine: already gone
    reg.delete_network("net-1")
    assert fake.requests[0][:3] == ("PUT", "/v2.0/ports/port-1",
                                    {"port": {"binding:host_id": "h2"}})
    assert [r[:2] for r in fake.requests[1:]] == [
        ("DELETE", "/v2.0/ports/port-1"), ("DELETE", "/v2.0/ports/gone"),
        ("DELETE", "/v2.0/networks/net-1")]


def test_errors_carry_the_neutron_message(reg):
    with pytest.raises(RegistryError, match="409 no more segmentation ids"):
        reg.create_network(name="refused", project_id="p1", shared=False)


def test_unreachable_server_is_a_registry_error():
    reg = HttpRegistry("http://127.0.0.1:9", "t", timeout=1)
    with pytest.raises(RegistryError):
        reg.create_network(name="x", project_id="p", shared=False)


def test_in_memory_registry_allocates_segmentation_ids():
    reg = InMemoryRegistry(first_segmentation_id=7)
    a = reg.create_network(name="a", project_id="p", shared=False)
    b = reg.create_network(name="b", project_id="p", shared=True)
    assert (a.segmentation_id, b.segmentation_id) == (7, 8)
    pid = reg.create_port(name="x", network_id=a.id, project_id="p", mac="m", ip="i",
                          device_id="vm", host="h1")
    reg.bind_port(pid, "h2")
    assert reg.ports[pid]["binding:host_id"] == "h2"
    with pytest.raises(RegistryError):
        reg.create_port(name="y", network_id="nope", project_id="p", mac="m", ip="i",
                        device_id="vm", host="h1")
