"""up/down life cycle: nothing left behind, also after a failed or half-built up."""
from __future__ import annotations

import subprocess

import pytest

from taas.lab import build, system
from taas.lab.cli import main as lab_cli
from taas.lab.lab import Lab, LabError
from taas.lab.registry import InMemoryRegistry
from taas.ovs.host import kill_pids, pid_alive

from .conftest import (NOTHING, lab_name, leftovers, namespaces, needs_lab,
                       processes_mentioning, root_links)

pytestmark = [pytest.mark.lab, needs_lab]


def small(name):
    return {"name": name, "hosts": ["h1", "h2"], "projects": ["p"],
            "networks": [{"name": "n", "project": "p", "cidr": "10.5.0.0/24"}],
            "vms": [{"name": "a", "host": "h1", "ports": ["n"]},
                    {"name": "b", "host": "h2", "ports": ["n"]}]}


@pytest.fixture
def name(tmp_path):
    name = lab_name("lc")
    yield name
    # Finalizer: whatever a failing test left (processes, namespaces), take it down.
    kill_pids(processes_mentioning(str(tmp_path)))
    for ns in namespaces(f"taas-{name}-"):
        system.kill_netns_processes(ns)
        system.netns_del(ns)


def test_down_removes_everything_it_made_and_nothing_else(tmp_path, name):
    links_before = root_links()
    registry = InMemoryRegistry()
    # A neighbour whose name starts like ours must survive our down.
    decoy = f"taas-{name}x-fabric"
    subprocess.run(["ip", "netns", "add", decoy], check=True)
    try:
        lab = Lab.up(small(name), tmp_path, registry=registry)
        assert lab.ping("a", lab.port("b").ip).ok
        daemons = [lab.ovs(h).pid(d) for h in lab.hosts for d in ("ovsdb-server", "ovs-vswitchd")]
        server = lab.popen("b", ["sleep", "300"])          # a process started "in a VM"
        assert registry.ports and registry.networks
        lab.down()
        server.wait(timeout=5)
        assert leftovers(name, tmp_path) == NOTHING
        assert not any(pid_alive(p) for p in daemons)
        assert registry.ports == {} and registry.networks == {}     # deregistered
        assert root_links() - links_before == set()
        assert decoy in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                       text=True).stdout
    finally:
        subprocess.run(["ip", "netns", "del", decoy])


def test_down_after_a_half_built_up(tmp_path, name, monkeypatch):
    real = build.plug_ports

    def crash_on_b(state, vm, *args):
        if vm.name == "b":
            raise RuntimeError("simulated crash while plugging b")
        return real(state, vm, *args)
    monkeypatch.setattr(build, "plug_ports", crash_on_b)
    with pytest.raises(RuntimeError):
        Lab.up(small(name), tmp_path, registry=InMemoryRegistry(), keep_on_error=True)
    assert leftovers(name, tmp_path)["namespaces"]       # half a lab is there
    assert leftovers(name, tmp_path)["processes"]
    # Something the state file never heard of (a crash between create and record).
    subprocess.run(["ip", "netns", "add", f"taas-{name}-vm-ghost"], check=True)
    Lab.open(tmp_path).down()
    assert leftovers(name, tmp_path) == NOTHING


def test_failed_up_tears_itself_down(tmp_path, name, monkeypatch):
    def boom(*args):
        raise RuntimeError("no")
    monkeypatch.setattr(build, "ensure_underlay", boom)
    with pytest.raises(RuntimeError):
        Lab.up(small(name), tmp_path, registry=InMemoryRegistry())
    assert leftovers(name, tmp_path) == NOTHING


def test_up_refuses_a_busy_workdir_and_a_missing_api(tmp_path, name):
    with pytest.raises(LabError, match="api_url"):
        Lab.up(small(name), tmp_path)
    lab = Lab.up(small(name), tmp_path, registry=InMemoryRegistry())
    try:
        with pytest.raises(LabError, match="already"):
            Lab.up(small(name), tmp_path, registry=InMemoryRegistry())
    finally:
        lab.down()
    with pytest.raises(LabError, match="no lab"):
        Lab.open(tmp_path)


def test_cli_offline_round_trip(tmp_path, name, capsys):
    import yaml
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(small(name)))
    work = str(tmp_path / "w")
    assert lab_cli(["up", "--spec", str(spec_file), "--workdir", work]) == 1   # no --api
    assert lab_cli(["up", "--spec", str(spec_file), "--workdir", work, "--offline"]) == 0
    try:
        assert lab_cli(["status", "--workdir", work]) == 0
        assert "ovs running" in capsys.readouterr().out
        assert lab_cli(["exec", "--workdir", work, "a", "--", "true"]) == 0
        assert lab_cli(["exec", "--workdir", work, "a", "--", "false"]) == 1
        assert lab_cli(["move", "--workdir", work, "a", "h2"]) == 0
        assert Lab.open(work).vm("a").host == "h2"
        assert lab_cli(["reconcile", "--workdir", work]) == 0
    finally:
        assert lab_cli(["down", "--workdir", work]) == 0
    assert leftovers(name, tmp_path / "w") == NOTHING
