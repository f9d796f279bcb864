"""OVSDB helpers over one reusable ovsdbapp connection: bridges, patch pairs, the mirror tunnel."""
from __future__ import annotations

import itertools
from typing import Mapping

from ovsdbapp.backend.ovs_idl import connection, idlutils
from ovsdbapp.schema.open_vswitch import impl_idl

from taas.dataplane import layout
from taas.ovs.host import OvsHost

MIRROR_TUNNEL_NAME = layout.PORT_NAMES[(layout.BR_TUN, layout.TUN_MIRROR_PORT)]

# Only the columns the agent and the lab read or write. Registering everything made the
# first sync with 1,000 ports take ~6 s (python-ovs parses JSON in pure Python), and the
# Interface statistics vswitchd refreshes every 5 s would be re-parsed forever.
REGISTERED_COLUMNS = {
    "Open_vSwitch": ["bridges", "external_ids", "other_config", "cur_cfg", "next_cfg"],
    "Bridge": ["name", "ports", "datapath_type", "fail_mode", "protocols", "external_ids",
               "other_config", "controller"],
    "Port": ["name", "interfaces", "tag", "external_ids", "other_config"],
    "Interface": ["name", "type", "options", "ofport", "ofport_request", "external_ids",
                  "other_config", "error", "mac"],
}
_ids = itertools.count()


def _private_api_class():
    # ovsdbapp's Backend keeps its connection in a CLASS attribute (one server per process
    # and class). The lab talks to several ovsdb-servers from one process, so each
    # connection gets its own subclass.
    return type(f"OvsdbIdl{next(_ids)}", (impl_idl.OvsdbIdl,), {"_ovsdb_connection": None})


class Ovsdb:
    """A connection to one host's Open_vSwitch database; reuse it, close() it when done.

    Every ensure_* is one transaction that waits until vswitchd has applied it (like
    ovs-vsctl without --no-wait), converges an existing row to the given settings when
    may_exist (the default) and raises when not. Names are port = interface names.
    """

    def __init__(self, target: OvsHost | str, timeout: float = 10):
        self.endpoint = target.db_url if isinstance(target, OvsHost) else target
        helper = idlutils.get_schema_helper(self.endpoint, "Open_vSwitch")
        for table, columns in REGISTERED_COLUMNS.items():
            helper.register_columns(table, columns)
        idl = connection.OvsdbIdl(self.endpoint, helper)
        self._connection = connection.Connection(idl=idl, timeout=timeout)
        self.api = _private_api_class()(self._connection)

    def close(self) -> None:
        """Stop the connection's thread (before its ovsdb-server goes away)."""
        self._connection.stop(timeout=5)

    def __enter__(self) -> "Ovsdb":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------

    def _port_exists(self, name: str) -> bool:
        return bool(self.api.db_find("Port", ("name", "=", name)).execute(check_error=True))

    def bridge_exists(self, name: str) -> bool:
        return self.api.br_exists(name).execute(check_error=True)

    def _ifaces(self, bridge: str) -> list[dict]:
        names = self.api.list_ifaces(bridge).execute(check_error=True)
        if not names:
            return []
        return self.api.db_list("Interface", names, columns=["name", "ofport", "external_ids"],
                                if_exists=True).execute(check_error=True)

    @staticmethod
    def _ofport(row: dict) -> int | None:
        ofport = row["ofport"]
        ofport = ofport[0] if isinstance(ofport, list) and ofport else ofport
        return ofport if isinstance(ofport, int) and ofport > 0 else None

    def ofports_by_iface_id(self, bridge: str) -> dict[str, int]:
        """Interface external_ids:iface-id -> ofport on `bridge`, skipping unplugged ones."""
        result = {}
        for row in self._ifaces(bridge):
            iface_id, ofport = row["external_ids"].get("iface-id"), self._ofport(row)
            if iface_id and ofport:
                result[iface_id] = ofport
        return result

    def ofports_by_name(self, bridge: str) -> dict[str, int]:
        """Interface name -> ofport on `bridge`, skipping ports without one."""
        return {row["name"]: self._ofport(row) for row in self._ifaces(bridge)
                if self._ofport(row)}

    # -- writing ---------------------------------------------------------------------------

    def ensure_bridge(self, name: str, *, datapath_type: str = "netdev",
                      fail_mode: str = "secure", protocols: tuple[str, ...] = ("OpenFlow13",),
                      may_exist: bool = True) -> None:
        """The bridge exists with these settings (secure: no NORMAL flows while empty)."""
        with self.api.transaction(check_error=True) as txn:
            txn.add(self.api.add_br(name, may_exist=may_exist, datapath_type=datapath_type))
            # Same transaction: vswitchd never sees the bridge in standalone mode.
            txn.add(self.api.db_set("Bridge", name, ("fail_mode", fail_mode),
                                    ("protocols", list(protocols))))

    def ensure_port(self, bridge: str, name: str, *, type: str = "",
                    options: Mapping[str, str] | None = None, ofport_request: int | None = None,
                    external_ids: Mapping[str, str] | None = None,
                    may_exist: bool = True) -> None:
        """Port+interface `name` on `bridge` with exactly these interface settings."""
        attrs: dict = {"type": type, "options": dict(options or {})}
        if ofport_request is not None:
            attrs["ofport_request"] = ofport_request
        if external_ids is not None:
            attrs["external_ids"] = dict(external_ids)
        exists = may_exist and self._port_exists(name)
        with self.api.transaction(check_error=True) as txn:
            if exists:
                txn.add(self.api.db_set("Interface", name, *attrs.items()))
            else:
                txn.add(self.api.add_port(bridge, name, may_exist=False, **attrs))

    def ensure_patch_pair(self, bridge_a: str, port_a: str, ofport_a: int,
                          bridge_b: str, port_b: str, ofport_b: int,
                          may_exist: bool = True) -> None:
        """Patch ports port_a (on bridge_a) <-> port_b (on bridge_b) with fixed ofports."""
        self.ensure_port(bridge_a, port_a, type="patch", options={"peer": port_b},
                         ofport_request=ofport_a, may_exist=may_exist)
        self.ensure_port(bridge_b, port_b, type="patch", options={"peer": port_a},
                         ofport_request=ofport_b, may_exist=may_exist)

    def ensure_mirror_tunnel(self, bridge: str = layout.BR_TUN, name: str = MIRROR_TUNNEL_NAME,
                             ofport: int = layout.TUN_MIRROR_PORT,
                             dst_port: int = layout.MIRROR_TUNNEL_UDP_PORT,
                             may_exist: bool = True) -> None:
        """The mirror VXLAN port: remote_ip and key chosen per flow, UDP `dst_port`."""
        self.ensure_port(bridge, name, type="vxlan", ofport_request=ofport, may_exist=may_exist,
                         options={"remote_ip": "flow", "key": "flow", "dst_port": str(dst_port)})

    def remove_port(self, name: str, bridge: str | None = None, if_exists: bool = True) -> None:
        self.api.del_port(name, bridge=bridge, if_exists=if_exists).execute(check_error=True)

    def remove_mirror_tunnel(self, bridge: str = layout.BR_TUN, name: str = MIRROR_TUNNEL_NAME,
                             if_exists: bool = True) -> None:
        self.remove_port(name, bridge=bridge, if_exists=if_exists)

    def remove_bridge(self, name: str, if_exists: bool = True) -> None:
        self.api.del_br(name, if_exists=if_exists).execute(check_error=True)
