"""ORM rows -> API dictionaries (the Public schemas), with admin-only attributes gated."""
from __future__ import annotations

import datetime

from taas.db import models


def timestamp(value: datetime.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _owned(row) -> dict:
    return {"id": row.id, "project_id": row.project_id, "tenant_id": row.project_id,
            "name": row.name, "description": row.description}


def network(row: models.Network) -> dict:
    return {**_owned(row), "shared": row.shared, "admin_state_up": row.admin_state_up,
            "status": "ACTIVE", "segmentation_id": row.segmentation_id,
            "provider:segmentation_id": row.segmentation_id, "provider:network_type": "vxlan",
            "subnets": [], "created_at": timestamp(row.created_at),
            "updated_at": timestamp(row.updated_at)}


def port(row: models.Port, show_host: bool) -> dict:
    item = {**_owned(row), "network_id": row.network_id, "mac_address": row.mac_address,
            "fixed_ips": [{"subnet_id": ip.get("subnet_id"), "ip_address": ip["ip_address"]}
                          for ip in row.fixed_ips or []],
            "device_id": row.device_id, "device_owner": row.device_owner,
            "port_security_enabled": row.port_security_enabled,
            "binding:vif_type": "ovs" if row.host else "unbound",
            "admin_state_up": row.admin_state_up,
            "status": "ACTIVE" if row.host else "DOWN",
            "tags": list(row.tags or []),
            "created_at": timestamp(row.created_at), "updated_at": timestamp(row.updated_at)}
    if show_host:
        item["binding:host_id"] = row.host
    return item


def tap_service(row: models.TapService, show_session: bool) -> dict:
    item = {**_owned(row), "port_id": row.port_id, "status": row.status,
            "status_reason": row.status_reason}
    if show_session:
        item["session_id"] = row.session_id
    return item


def tap_flow(row: models.TapFlow) -> dict:
    return {**_owned(row), "tap_service_id": row.tap_service_id,
            "source_port": row.source_port, "direction": row.direction,
            "vlan_filter": row.vlan_filter, "status": row.status,
            "status_reason": row.status_reason}


def tap_mirror(row: models.TapMirror, tunnels: dict[str, int]) -> dict:
    return {**_owned(row), "port_id": row.port_id, "directions": dict(sorted(tunnels.items())),
            "remote_ip": row.remote_ip, "mirror_type": row.mirror_type, "status": row.status,
            "status_reason": row.status_reason}
