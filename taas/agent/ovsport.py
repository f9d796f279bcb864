"""The agent's view of its host's Open vSwitch: plumbing it owns, facts it reads, flows it applies."""
from __future__ import annotations

import logging
import threading
from taas.dataplane import layout
from taas.ovs.flows import ApplyResult, apply_flows
from taas.ovs.host import OvsHost
from taas.ovs.ovsdb import MIRROR_TUNNEL_NAME, Ovsdb

LOG = logging.getLogger(__name__)

# The patch pairs TaaS owns: br-int <-> br-tap and br-tap <-> br-tun.
PATCHES = (
    (layout.BR_INT, layout.INT_PATCH_TAP, layout.BR_TAP, layout.TAP_PATCH_INT),
    (layout.BR_TAP, layout.TAP_PATCH_TUN, layout.BR_TUN, layout.TUN_PATCH_TAP),
)


def _name(bridge: str, ofport: int) -> str:
    return layout.PORT_NAMES[(bridge, ofport)]


class AgentOvs:
    """br-tap, the patch ports to it and the mirror tunnel belong to TaaS; br-int and
    br-tun belong to the network agent, which TaaS only reads (iface-id -> ofport) and
    writes flows into under its own cookie."""

    def __init__(self, ovs: OvsHost | str):
        # A rundir is enough: clients need only the sockets in it.
        self.host = ovs if isinstance(ovs, OvsHost) else OvsHost.from_rundir(ovs)
        self._db: Ovsdb | None = None
        self._lock = threading.Lock()

    @property
    def db(self) -> Ovsdb:
        with self._lock:
            if self._db is None:
                self._db = Ovsdb(self.host)
            return self._db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def ensure_plumbing(self) -> None:
        """br-tap and its patch ports exist; cheap when they do (reads the IDL cache)."""
        db = self.db
        if not db.bridge_exists(layout.BR_TAP):
            datapath = db.api.db_get("Bridge", layout.BR_INT, "datapath_type").execute(
                check_error=True) or "netdev"
            db.ensure_bridge(layout.BR_TAP, datapath_type=datapath)
        names = {br: db.ofports_by_name(br) for br in (layout.BR_INT, layout.BR_TAP, layout.BR_TUN)}
        for br_a, port_a, br_b, port_b in PATCHES:
            name_a, name_b = _name(br_a, port_a), _name(br_b, port_b)
            if names[br_a].get(name_a) != port_a or names[br_b].get(name_b) != port_b:
                db.ensure_patch_pair(br_a, name_a, port_a, br_b, name_b, port_b)

    def ofports_by_iface_id(self) -> dict[str, int]:
        return self.db.ofports_by_iface_id(layout.BR_INT)

    def set_mirror_tunnel(self, needed: bool) -> None:
        """The flow-based VXLAN port exists exactly while some session crosses hosts."""
        present = self.db.ofports_by_name(layout.BR_TUN).get(MIRROR_TUNNEL_NAME)
        if needed and present != layout.TUN_MIRROR_PORT:
            self.db.ensure_mirror_tunnel()
        elif not needed and present is not None:
            self.db.remove_mirror_tunnel()

    def apply_flows(self, bridge: str, flows) -> ApplyResult:
        return apply_flows(self.host, bridge, flows, layout.COOKIE_TAAS)
