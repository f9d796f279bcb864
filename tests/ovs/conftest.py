"""A private OVS (dummy datapath, no namespace) per test module, in a tmp dir."""
from __future__ import annotations

import os
import shutil

import pytest

from taas.ovs.host import OvsHost
from taas.ovs.ovsdb import Ovsdb

NEEDS_OVS = pytest.mark.skipif(
    not shutil.which("ovs-vswitchd") or os.geteuid() != 0,
    reason="needs Open vSwitch binaries (and root for their default dirs)")


@pytest.fixture(scope="module")
def ovs(tmp_path_factory):
    host = OvsHost("t", tmp_path_factory.mktemp("ovs"), dummy=True)
    host.start()
    yield host
    host.stop()


@pytest.fixture(scope="module")
def db(ovs):
    conn = Ovsdb(ovs)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def bridges(db):
    """br-int and br-tun with datapath dummy: bridges without any kernel device."""
    for br in ("br-int", "br-tun"):
        db.ensure_bridge(br, datapath_type="dummy")
    return ("br-int", "br-tun")
