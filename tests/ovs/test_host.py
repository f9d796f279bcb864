"""OvsHost: private daemons under a workdir; restart keeps OVSDB, loses flows."""
from __future__ import annotations

from taas.ovs.host import OvsHost, pid_alive
from taas.ovs.ovsdb import Ovsdb

from .conftest import NEEDS_OVS

pytestmark = NEEDS_OVS


def test_start_stop_restart(tmp_path):
    host = OvsHost("solo", tmp_path / "solo", dummy=True)
    host.start()
    try:
        pids = {d: host.pid(d) for d in ("ovsdb-server", "ovs-vswitchd")}
        assert all(pids.values()) and host.running()
        assert host.db_socket.exists()
        assert host.vsctl("get", "Open_vSwitch", ".", "external_ids:system-id").strip() == "solo"
        with Ovsdb(host) as db:
            db.ensure_bridge("br-int", datapath_type="dummy")
        host.ofctl("add-flow", "br-int", "table=0,priority=5,actions=drop")
        assert "priority=5" in host.ofctl("dump-flows", "br-int")
        host.restart_vswitchd()
        assert host.pid("ovs-vswitchd") != pids["ovs-vswitchd"]
        assert host.pid("ovsdb-server") == pids["ovsdb-server"]
        assert "br-int" in host.vsctl("list-br")                        # config kept
        assert "priority=5" not in host.ofctl("dump-flows", "br-int")   # flows lost
        assert "ovs-vswitchd" in host.appctl("version")
    finally:
        host.stop()
    assert not any(pid_alive(p) for p in pids.values())
    assert not host.running()


def test_stale_pidfile_is_not_trusted(tmp_path):
    host = OvsHost("ghost", tmp_path / "ghost")
    host.rundir.mkdir(parents=True)
    host.pidfile("ovs-vswitchd").write_text("1\n")   # PID 1 is alive but not our daemon
    assert host.pid("ovs-vswitchd") is None
    host.stop()                                        # must not signal PID 1


def test_from_rundir_client_handle(tmp_path):
    host = OvsHost("x", tmp_path / "x", dummy=True)
    host.start()
    try:
        client = OvsHost.from_rundir(host.rundir)
        assert client.db_socket == host.db_socket
        assert client.vsctl("get", "Open_vSwitch", ".", "external_ids:system-id").strip() == "x"
        assert client.pid("ovs-vswitchd") == host.pid("ovs-vswitchd")
    finally:
        host.stop()
