"""Where the lab registers its networks and ports: the TaaS server's REST API, or memory."""
from __future__ import annotations

import dataclasses
import itertools
import uuid
from typing import Protocol

import httpx


class RegistryError(RuntimeError):
    """The server refused a registration (the message carries its status and reason)."""


@dataclasses.dataclass(frozen=True)
class NetworkRecord:
    id: str
    segmentation_id: int


class Registry(Protocol):
    """The Neutron calls the lab needs. The server allocates ids and segmentation ids."""

    def create_network(self, *, name: str, project_id: str, shared: bool) -> NetworkRecord: ...

    def create_port(self, *, name: str, network_id: str, project_id: str, mac: str, ip: str,
                    device_id: str, host: str) -> str:
        """Returns the new port's id."""

    def bind_port(self, port_id: str, host: str) -> None:
        """Set binding:host_id (after a move)."""

    def delete_port(self, port_id: str) -> None: ...

    def delete_network(self, network_id: str) -> None: ...

    def close(self) -> None: ...


class InMemoryRegistry:
    """A Registry with no server, for tests and offline labs: ids are uuid4s."""

    def __init__(self, first_segmentation_id: int = 1):
        self._seg = itertools.count(first_segmentation_id)
        self.networks: dict[str, dict] = {}
        self.ports: dict[str, dict] = {}

    def create_network(self, *, name, project_id, shared) -> NetworkRecord:
        record = NetworkRecord(str(uuid.uuid4()), next(self._seg))
        self.networks[record.id] = {"name": name, "project_id": project_id, "shared": shared,
                                    "provider:segmentation_id": record.segmentation_id}
        return record

    def create_port(self, *, name, network_id, project_id, mac, ip, device_id, host) -> str:
        if network_id not in self.networks:
            raise RegistryError(f"network {network_id} not found")
        port_id = str(uuid.uuid4())
        self.ports[port_id] = {"name": name, "network_id": network_id, "project_id": project_id,
                               "mac_address": mac, "fixed_ips": [{"ip_address": ip}],
                               "device_id": device_id, "binding:host_id": host}
        return port_id

    def bind_port(self, port_id, host) -> None:
        # Tolerant: an offline lab re-opened by the CLI has a fresh, empty registry.
        self.ports.setdefault(port_id, {})["binding:host_id"] = host

    def delete_port(self, port_id) -> None:
        self.ports.pop(port_id, None)

    def delete_network(self, network_id) -> None:
        self.networks.pop(network_id, None)

    def close(self) -> None:
        pass


class HttpRegistry:
    """A Registry over the TaaS server's Neutron-style API, as an admin (X-Auth-Token)."""

    def __init__(self, api_url: str, token: str, timeout: float = 15,
                 transport: httpx.BaseTransport | None = None):
        self.api_url = api_url.rstrip("/")
        self._client = httpx.Client(base_url=self.api_url, timeout=timeout, transport=transport,
                                    headers={"X-Auth-Token": token})

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        try:
            resp = self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise RegistryError(f"{method} {self.api_url}{path}: {exc}") from exc
        if resp.status_code == 404 and method == "DELETE":
            return {}       # already gone: deletes are idempotent for the lab
        if resp.status_code >= 400:
            try:
                reason = resp.json()["NeutronError"]["message"]
            except Exception:
                reason = resp.text[:300]
            raise RegistryError(f"{method} {path}: {resp.status_code} {reason}")
        return resp.json() if resp.content else {}

    def create_network(self, *, name, project_id, shared) -> NetworkRecord:
        net = self._call("POST", "/v2.0/networks", {"network": {
            "name": name, "project_id": project_id, "shared": shared}})["network"]
        seg = net.get("provider:segmentation_id")
        if not isinstance(seg, int):
            raise RegistryError(f"network {name}: the server gave no provider:segmentation_id")
        return NetworkRecord(net["id"], seg)

    def create_port(self, *, name, network_id, project_id, mac, ip, device_id, host) -> str:
        port = self._call("POST", "/v2.0/ports", {"port": {
            "name": name, "network_id": network_id, "project_id": project_id,
            "mac_address": mac, "fixed_ips": [{"ip_address": ip}], "device_id": device_id,
            "device_owner": "compute:lab", "binding:host_id": host}})["port"]
        return port["id"]

    def bind_port(self, port_id, host) -> None:
        self._call("PUT", f"/v2.0/ports/{port_id}", {"port": {"binding:host_id": host}})

    def delete_port(self, port_id) -> None:
        self._call("DELETE", f"/v2.0/ports/{port_id}")

    def delete_network(self, network_id) -> None:
        self._call("DELETE", f"/v2.0/networks/{network_id}")

    def close(self) -> None:
        self._client.close()
