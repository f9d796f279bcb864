"""The real `openstack` CLI (python-openstackclient's `tap service|flow|mirror` commands)
against a live taas server. Each CLI call costs ~1.5 s of Python start-up, so independent
calls run concurrently and setup goes through plain HTTP."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import unique

OPENSTACK = str(Path(sys.executable).parent / "openstack")
CLI_TIMEOUT = 60


@dataclass
class Result:
    argv: list
    rc: int
    out: str
    err: str

    def json(self):
        assert self.rc == 0, self.describe()
        return json.loads(self.out)

    def describe(self) -> str:
        return f"openstack {' '.join(self.argv)} -> rc={self.rc}\nstdout: {self.out}\nstderr: {self.err}"


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["OS_CLIENT_CONFIG_FILE"] = os.devnull  # never pick up a clouds.yaml
    env["CLIFF_MAX_TERM_WIDTH"] = "0"
    return env


def _argv(url: str, token: str, args) -> list:
    return [OPENSTACK, "--os-auth-type", "admin_token", "--os-token", token,
            "--os-endpoint", url, *args]


BASIC_ALICE = ["--os-auth-type", "http_basic", "--os-username", "alice", "--os-password", "pw"]


def cli_many(server, *calls, token: str = "alice-token") -> list[Result]:
    """Run several CLI invocations concurrently. Each call: a list of args, or (args, token)
    where token may also be a list of auth options (e.g. BASIC_ALICE)."""
    procs = []
    for call in calls:
        args, tok = (call if isinstance(call, tuple) else (call, token))
        args = [str(a) for a in args]
        argv = (_argv(server.url, tok, args) if isinstance(tok, str) else
                [OPENSTACK, *tok, "--os-endpoint", server.url, *args])
        p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=_env(),
                             stdin=subprocess.DEVNULL)
        procs.append((args, p))
    results = []
    for args, p in procs:
        try:
            out, err = p.communicate(timeout=CLI_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            pytest.fail(f"openstack {' '.join(args)} timed out\n{err}")
        results.append(Result(args, p.returncode, out, err))
    return results


def cli(server, *args, token: str = "alice-token") -> Result:
    return cli_many(server, list(args), token=token)[0]


def api(server, method: str, path: str, body=None, token="alice-token", expect=None):
    with server.client(token) as c:
        r = c.request(method, path, json=body)
    if expect is not None:
        assert r.status_code == expect, f"{method} {path} {body} -> {r.status_code} {r.text}"
    return r


# --------------------------------------------------------------------------- ports
def test_port_list_shows_own_ports_only(taas_server, topology):
    alice_rows, admin_rows, basic_rows = (r.json() for r in cli_many(
        taas_server,
        ["port", "list", "-f", "json"],
        (["port", "list", "--network", topology.alice_net["name"], "-f", "json"], "admin-token"),
        (["port", "list", "-f", "json"], BASIC_ALICE),  # HTTP basic auth works for the CLI too
    ))
    assert sorted(r["ID"] for r in basic_rows) == sorted(r["ID"] for r in alice_rows)
    names = {row["Name"] for row in alice_rows}
    assert {p["name"] for p in topology.alice_ports.values()} <= names
    assert topology.bob_port["name"] not in names
    vm1 = next(row for row in alice_rows if row["ID"] == topology.alice_ports["vm1"]["id"])
    assert vm1["MAC Address"] == topology.alice_ports["vm1"]["mac_address"]
    # --network resolves the network by name, then filters by network_id
    assert {row["ID"] for row in admin_rows} >= {p["id"] for p in topology.alice_ports.values()}
    assert topology.bob_port["id"] not in {row["ID"] for row in admin_rows}


# --------------------------------------------------------------------------- services+flows
def test_tap_service_and_flow_lifecycle_by_name(taas_server, topology):
    mon, vm1 = topology.alice_ports["mon"], topology.alice_ports["vm1"]
    ts_name, tf_name = unique("cli-ts"), unique("cli-tf")

    ts = cli(taas_server, "tap", "service", "create", "--port", mon["name"], "--name", ts_name,
             "-f", "json").json()
    assert ts["name"] == ts_name and ts["port_id"] == mon["id"]
    assert ts["project_id"] == taas_server.projects["alice"]

    tf = cli(taas_server, "tap", "flow", "create", "--port", vm1["name"], "--tap-service",
             ts_name, "--direction", "both", "--vlan-filter", "10-20,30", "--name", tf_name,
             "-f", "json").json()
    assert tf["name"] == tf_name and tf["direction"] == "BOTH"
    assert tf["source_port"] == vm1["id"] and tf["tap_service_id"] == ts["id"]
    assert tf["vlan_filter"] == "10-20,30"

    # independent reads and the update run side by side (CLI start-up is the cost)
    flows, services, shown_ts, shown_tf, upd = cli_many(
        taas_server,
        ["tap", "flow", "list", "-f", "json"],
        ["tap", "service", "list", "-f", "json"],
        ["tap", "service", "show", ts_name, "-f", "json"],
        ["tap", "flow", "show", tf_name, "-f", "json"],
        ["tap", "flow", "update", tf_name, "--description", "watch vm1", "-f", "json"],
    )
    row = next(r for r in flows.json() if r["ID"] == tf["id"])
    assert (row["Name"], row["Direction"]) == (tf_name, "BOTH")
    assert row["Tenant"] == taas_server.projects["alice"]  # the CLI reads tenant_id
    assert row["tap_service_id"] == ts["id"] and row["source_port"] == vm1["id"]
    row = next(r for r in services.json() if r["ID"] == ts["id"])
    assert (row["Name"], row["Port"], row["Tenant"]) == (ts_name, mon["id"],
                                                          taas_server.projects["alice"])
    assert shown_ts.json()["id"] == ts["id"] and shown_ts.json()["status"] == "DOWN"
    assert shown_tf.json()["id"] == tf["id"]
    assert shown_tf.json()["vlan_filter"] == "10-20,30"
    assert upd.json()["ID"] == tf["id"]  # `tap flow update` prints the listing columns
    got = api(taas_server, "GET", f"/v2.0/taas/tap_flows/{tf['id']}", expect=200).json()
    assert got["tap_flow"]["description"] == "watch vm1"
    assert got["tap_flow"]["direction"] == "BOTH"  # PUT carried only the description

    deleted = cli(taas_server, "tap", "flow", "delete", tf_name)
    assert deleted.rc == 0, deleted.describe()
    api(taas_server, "GET", f"/v2.0/taas/tap_flows/{tf['id']}", expect=404)
    deleted = cli(taas_server, "tap", "service", "delete", ts_name)
    assert deleted.rc == 0, deleted.describe()
    api(taas_server, "GET", f"/v2.0/taas/tap_services/{ts['id']}", expect=404)


# --------------------------------------------------------------------------- mirrors
def test_tap_mirror_lifecycle_on_cli_made_port(taas_server):
    # tenant self-service end to end: network and port made by alice with the CLI too
    net_name, port_name, name = unique("cli-net"), unique("cli-port"), unique("cli-tm")
    net = cli(taas_server, "network", "create", net_name, "-f", "json").json()
    assert net["name"] == net_name and net["project_id"] == taas_server.projects["alice"]
    mon = cli(taas_server, "port", "create", "--network", net_name, port_name,
              "-f", "json").json()
    assert mon["network_id"] == net["id"] and mon["name"] == port_name
    tm = cli(taas_server, "tap", "mirror", "create", "--port", mon["name"],
             "--directions", "IN=101", "--directions", "OUT=102", "--remote-ip", "192.0.2.9",
             "--mirror-type", "gre", "--name", name, "-f", "json").json()
    try:
        assert tm["name"] == name and tm["port_id"] == mon["id"]
        assert tm["mirror_type"] == "gre" and tm["remote_ip"] == "192.0.2.9"
        assert {k: int(v) for k, v in tm["directions"].items()} == {"IN": 101, "OUT": 102}

        listed, shown, updated = cli_many(
            taas_server,
            ["tap", "mirror", "list", "-f", "json"],
            ["tap", "mirror", "show", name, "-f", "json"],
            ["tap", "mirror", "update", tm["id"], "--description", "to the IDS", "-f", "json"],
        )
        row = next(r for r in listed.json() if r["ID"] == tm["id"])
        assert (row["Name"], row["Remote IP"], row["Mirror Type"]) == (name, "192.0.2.9", "gre")
        assert shown.json()["id"] == tm["id"]
        assert updated.json()["description"] == "to the IDS"
    finally:
        deleted = cli(taas_server, "tap", "mirror", "delete", name)
    assert deleted.rc == 0, deleted.describe()
    api(taas_server, "GET", f"/v2.0/taas/tap_mirrors/{tm['id']}", expect=404)


# --------------------------------------------------------------------------- errors
def test_error_exit_codes_and_messages(taas_server, topology):
    mon, vm2 = topology.alice_ports["mon"], topology.alice_ports["vm2"]
    bob_port = topology.bob_port
    ts = api(taas_server, "POST", "/v2.0/taas/tap_services",
             {"tap_service": {"port_id": mon["id"], "name": unique("err-ts")}},
             expect=201).json()["tap_service"]
    dup = unique("dup")
    for _ in range(2):
        api(taas_server, "POST", "/v2.0/taas/tap_services",
            {"tap_service": {"port_id": mon["id"], "name": dup}}, expect=201)
    conflict_id = 555
    api(taas_server, "POST", "/v2.0/taas/tap_mirrors",
        {"tap_mirror": {"port_id": vm2["id"], "directions": {"IN": conflict_id},
                        "remote_ip": "192.0.2.30", "mirror_type": "erspanv1"}}, expect=201)
    missing = unique("missing")

    (on_bobs_port, ambiguous, absent, bad_type, conflict, bob_on_alices,
     delete_absent) = cli_many(
        taas_server,
        ["tap", "flow", "create", "--port", bob_port["id"], "--tap-service", ts["id"],
         "--direction", "in"],
        ["tap", "service", "show", dup],
        ["tap", "service", "show", missing],
        ["tap", "mirror", "create", "--port", vm2["id"], "--directions", "IN=556",
         "--remote-ip", "192.0.2.31", "--mirror-type", "erspanv2"],
        ["tap", "mirror", "create", "--port", vm2["id"], "--directions", f"OUT={conflict_id}",
         "--remote-ip", "192.0.2.31", "--mirror-type", "gre"],
        (["tap", "service", "create", "--port", mon["id"]], "bob-token"),
        ["tap", "flow", "delete", missing],
    )
    # alice cannot see bob's port: the CLI's port lookup fails cleanly
    assert on_bobs_port.rc == 1, on_bobs_port.describe()
    assert bob_port["id"] in on_bobs_port.err and "Traceback" not in on_bobs_port.err

    assert ambiguous.rc == 1, ambiguous.describe()
    assert f"More than one TapService exists with the name '{dup}'" in ambiguous.err

    assert absent.rc == 1, absent.describe()
    assert f"No TapService found for {missing}" in absent.err

    # a server-side 400: the CLI prints the NeutronError message
    assert bad_type.rc == 1, bad_type.describe()
    assert "BadRequestException" in bad_type.err, bad_type.describe()
    assert "erspanv2" in bad_type.err or "mirror_type" in bad_type.err, bad_type.describe()

    assert conflict.rc == 1, conflict.describe()
    assert "ConflictException" in conflict.err and str(conflict_id) in conflict.err, \
        conflict.describe()

    assert bob_on_alices.rc == 1, bob_on_alices.describe()
    assert mon["id"] in bob_on_alices.err and "Traceback" not in bob_on_alices.err

    assert delete_absent.rc == 1, delete_absent.describe()
    assert "Failed to delete 1 of 1 tap flow" in delete_absent.err
