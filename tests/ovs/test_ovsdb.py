"""OVSDB helpers: idempotent ensure_*, ofport lookups, one connection per server."""
from __future__ import annotations

import pytest

from taas.dataplane import layout
from taas.ovs.host import OvsHost
from taas.ovs.ovsdb import MIRROR_TUNNEL_NAME, Ovsdb

from .conftest import NEEDS_OVS

pytestmark = NEEDS_OVS


def row(db, table, name, *columns):
    return {c: db.api.db_get(table, name, c).execute(check_error=True) for c in columns}


def test_ensure_bridge_settings_and_idempotence(db):
    db.ensure_bridge("br-x", datapath_type="dummy")
    db.ensure_bridge("br-x", datapath_type="dummy")      # may_exist: no error, no change
    got = row(db, "Bridge", "br-x", "fail_mode", "protocols", "datapath_type")
    assert got == {"fail_mode": "secure", "protocols": "OpenFlow13", "datapath_type": "dummy"}
    assert db.bridge_exists("br-x")
    with pytest.raises(Exception):
        db.ensure_bridge("br-x", datapath_type="dummy", may_exist=False)
    db.remove_bridge("br-x")
    db.remove_bridge("br-x")                             # if_exists
    assert not db.bridge_exists("br-x")


def test_patch_pair_gets_requested_ofports(db, bridges):
    db.ensure_bridge("br-tap", datapath_type="dummy")
    for _ in range(2):
        db.ensure_patch_pair("br-int", "patch-int-tap", layout.INT_PATCH_TAP,
                             "br-tap", "patch-tap-int", layout.TAP_PATCH_INT)
    assert db.ofports_by_name("br-int")["patch-int-tap"] == 2
    assert db.ofports_by_name("br-tap") == {"patch-tap-int": 1}
    assert row(db, "Interface", "patch-tap-int", "options") == {
        "options": {"peer": "patch-int-tap"}}


def test_mirror_tunnel_ensure_and_remove(db, bridges):
    db.ensure_mirror_tunnel()
    db.ensure_mirror_tunnel()
    got = row(db, "Interface", MIRROR_TUNNEL_NAME, "type", "options", "ofport")
    assert got["type"] == "vxlan"
    assert got["options"] == {"remote_ip": "flow", "key": "flow", "dst_port": "4790"}
    assert db.ofports_by_name("br-tun")[MIRROR_TUNNEL_NAME] == layout.TUN_MIRROR_PORT
    db.remove_mirror_tunnel()
    db.remove_mirror_tunnel()                            # if_exists
    assert MIRROR_TUNNEL_NAME not in db.ofports_by_name("br-tun")


def test_ensure_port_converges_existing_settings(db, bridges):
    db.ensure_port("br-int", "vm-a", type="dummy", ofport_request=100,
                   external_ids={"iface-id": "port-a"})
    db.ensure_port("br-int", "vm-a", type="dummy", ofport_request=101,
                   external_ids={"iface-id": "port-a2"})
    assert db.ofports_by_iface_id("br-int")["port-a2"] == 101
    assert "port-a" not in db.ofports_by_iface_id("br-int")
    db.remove_port("vm-a")


def test_ofports_by_iface_id_skips_unplugged(db, bridges):
    db.ensure_port("br-int", "vm-b", type="dummy", ofport_request=110,
                   external_ids={"iface-id": "port-b"})
    # A system port whose device does not exist: ofport -1, must not be reported.
    db.ensure_port("br-int", "nodev0", ofport_request=111, external_ids={"iface-id": "port-c"})
    db.ensure_port("br-int", "vm-d", type="dummy", ofport_request=112)   # no iface-id
    got = db.ofports_by_iface_id("br-int")
    assert got["port-b"] == 110
    assert "port-c" not in got and 112 not in got.values()
    for p in ("vm-b", "nodev0", "vm-d"):
        db.remove_port(p)
    assert db.ofports_by_iface_id("br-int") == {}


def test_two_servers_in_one_process(tmp_path, db, bridges):
    # ovsdbapp keeps its connection in a class attribute; each Ovsdb must talk to its own.
    other = OvsHost("t2", tmp_path / "t2", dummy=True)
    other.start()
    try:
        with Ovsdb(other) as db2:
            db2.ensure_bridge("br-only-2", datapath_type="dummy")
            assert db2.bridge_exists("br-only-2")
            assert not db.bridge_exists("br-only-2")
            assert not db2.bridge_exists("br-int")
    finally:
        other.stop()


def test_connection_is_reusable_and_closable(ovs, bridges):
    conn = Ovsdb(ovs)
    for i in range(20):            # many transactions over one connection
        conn.ensure_port("br-int", "vm-r", type="dummy", ofport_request=120 + i % 2)
    conn.remove_port("vm-r")
    conn.close()
    with Ovsdb(ovs.db_url) as again:   # a plain endpoint works too
        assert again.bridge_exists("br-int")
