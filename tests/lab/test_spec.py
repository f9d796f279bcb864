"""The lab spec: defaults, normalization, and errors that say where the problem is."""
from __future__ import annotations

from pathlib import Path

import pytest

from taas.lab import spec as S

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lab.yaml"


def base(**over):
    data = {"name": "t1", "hosts": ["h1", "h2"], "projects": ["p"],
            "networks": [{"name": "n1", "project": "p", "cidr": "10.0.0.0/24"},
                         {"name": "n2", "project": "p", "cidr": "10.0.0.0/24"}],
            "vms": [{"name": "a", "host": "h1", "ports": [{"network": "n1"}]}]}
    data.update(over)
    return data


def errors(data) -> str:
    with pytest.raises(S.SpecError) as exc:
        S.parse(data)
    return "\n".join(exc.value.errors)


def test_example_spec_is_valid_and_has_what_the_docs_promise():
    spec = S.load(EXAMPLE)
    assert len(spec.hosts) == 2 and len(spec.projects) == 2
    assert any(n.shared for n in spec.networks)
    monitors = [v for v in spec.vms if v.monitor]
    assert {spec.vm(m.name).project for m in monitors} == {p.name for p in spec.projects}
    macs = [(p.mac, p.network) for v in spec.vms for p in v.ports]
    shared_macs = {m for m, _ in macs if sum(1 for x, _ in macs if x == m) > 1}
    assert shared_macs, "two ports on different networks must share a MAC"
    assert S.parse(spec.to_dict()) == spec


def test_defaults():
    spec = S.parse(base())
    assert [(h.name, h.ip) for h in spec.hosts] == [("h1", "192.0.2.1"), ("h2", "192.0.2.2")]
    assert len(spec.project("p").id) == 32
    port = spec.vm("a").ports[0]
    assert port.name == "a-n1" and port.ip == "10.0.0.2" and port.mac.startswith("fa:16:3e:")
    assert spec.vm("a").project == "p" and not spec.vm("a").monitor


def test_generated_addresses_avoid_explicit_ones():
    spec = S.parse(base(vms=[
        {"name": "a", "host": "h1", "ports": [{"network": "n1"}]},
        {"name": "b", "host": "h2", "ports": [{"network": "n1", "ip": "10.0.0.2"}]}]))
    assert {spec.vm("a").ports[0].ip, spec.vm("b").ports[0].ip} == {"10.0.0.2", "10.0.0.3"}


def test_same_mac_on_different_networks_is_fine_same_network_is_not():
    mac = "fa:16:3e:aa:bb:cc"
    ok = base(vms=[{"name": "a", "host": "h1", "ports": [{"network": "n1", "mac": mac}]},
                   {"name": "b", "host": "h2", "ports": [{"network": "n2", "mac": mac}]}])
    S.parse(ok)
    bad = base(vms=[{"name": "a", "host": "h1", "ports": [{"network": "n1", "mac": mac}]},
                    {"name": "b", "host": "h2", "ports": [{"network": "n1", "mac": mac.upper()}]}])
    assert "vms[1] (b) port 0: mac fa:16:3e:aa:bb:cc is already used on network 'n1'" in errors(bad)


@pytest.mark.parametrize("over, message", [
    ({"name": "bad-name"}, "name: 'bad-name' must be 1-12"),
    ({"hosts": []}, "hosts: at least one host"),
    ({"hosts": ["h1", "h1"]}, "hosts: 'h1' appears twice"),
    ({"hosts": ["averyverylonghostname"]}, "hosts[0]: needs a name"),
    ({"networks": [{"name": "n1", "project": "zz", "cidr": "10.0.0.0/24"}]},
     "networks[0] (n1): project 'zz' is not in projects"),
    ({"networks": [{"name": "n1", "project": "p", "cidr": "10.0.0.0/33"}]}, "cidr"),
    ({"vms": [{"name": "a", "host": "h9", "ports": [{"network": "n1"}]}]},
     "vms[0] (a): host 'h9' is not in hosts"),
    ({"vms": [{"name": "a", "host": "h1", "ports": [{"network": "nx"}]}]},
     "vms[0] (a) port 0: network 'nx' is not in networks"),
    ({"vms": [{"name": "a", "host": "h1", "ports": [{"network": "n1", "ip": "10.9.0.5"}]}]},
     "ip 10.9.0.5 is not a host address of 10.0.0.0/24"),
    ({"vms": [{"name": "a", "host": "h1", "ports": [{"network": "n1", "mac": "01:00:00:00:00:01"}]}]},
     "is not a unicast MAC"),
    ({"vms": [{"name": "a", "host": "h1", "ports": [{"network": "n1"}, {"network": "n1"}]}]},
     "a second port on network 'n1'"),
    ({"vms": [{"name": "a", "host": "h1", "ports": []}]}, "needs ports"),
    ({"monitors": [{"name": "a", "host": "h1", "ports": ["n2"]}]},
     "vms and monitors: 'a' appears twice"),
])
def test_errors_name_the_place(over, message):
    assert message in errors(base(**over))


def test_every_error_is_reported_at_once():
    text = errors(base(name="X", hosts=["h1", "h1"],
                       vms=[{"name": "a", "host": "h9", "ports": ["nx"]}]))
    assert len(text.splitlines()) >= 4


def test_load_reports_unreadable_files(tmp_path):
    with pytest.raises(S.SpecError):
        S.load(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("name: [unclosed")
    with pytest.raises(S.SpecError):
        S.load(tmp_path / "bad.yaml")
