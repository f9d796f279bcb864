"""apply_flows: diff by cookie, one atomic bundle, no write when nothing changed."""
from __future__ import annotations

import pytest

from taas.dataplane import layout
from taas.dataplane.flows import Flow
from taas.ovs.flows import apply_flows, bundle_text, installed_cookies, installed_flows
from taas.ovs.host import OvsError

from .conftest import NEEDS_OVS

pytestmark = NEEDS_OVS
NET, TAAS = layout.COOKIE_NETWORK, layout.COOKIE_TAAS


def nf(table, prio, match, actions, bridge="br-int", owner=NET):
    return Flow(bridge, table, prio, match, actions, owner=owner)


BASE = [nf(0, 0, "", "drop"), nf(0, 10, "in_port=100", "goto_table:5"),
        nf(5, 0, "", "goto_table:10"), nf(10, 32768, "dl_dst=01:00:00:00:00:00/01:00:00:00:00:00",
                                         "drop")]


@pytest.fixture
def clean(ovs, bridges):
    ovs.ofctl("del-flows", "br-int")
    ovs.ofctl("del-flows", "br-tun")
    yield ovs


def writes(monkeypatch, ovs):
    calls = []
    real = ovs.ofctl

    def spy(*args, **kw):
        if "dump-flows" not in args:
            calls.append(args)
        return real(*args, **kw)
    monkeypatch.setattr(ovs, "ofctl", spy)
    return calls


def test_apply_installs_then_reapply_is_noop(clean, monkeypatch):
    ovs = clean
    assert apply_flows(ovs, "br-int", BASE, NET).added == len(BASE)
    assert installed_cookies(ovs, "br-int", NET) == {f.cookie for f in BASE}
    calls = writes(monkeypatch, ovs)
    result = apply_flows(ovs, "br-int", list(reversed(BASE)), NET)
    assert (result.added, result.removed, result.changed) == (0, 0, False)
    assert calls == []      # no bundle at all when nothing differs


def test_table_and_priority_are_parsed(clean):
    apply_flows(clean, "br-int", BASE, NET)
    found = installed_flows(clean, "br-int", NET)
    assert found == {f.cookie: (f.table, f.priority) for f in BASE}   # incl. default 32768


def test_diff_removes_stale_and_adds_missing_in_one_bundle(clean, monkeypatch):
    apply_flows(clean, "br-int", BASE, NET)
    changed = [*BASE[:2], nf(5, 0, "", "goto_table:11"), nf(30, 10, "reg7=100", "output:100")]
    calls = writes(monkeypatch, clean)
    result = apply_flows(clean, "br-int", changed, NET)
    assert (result.added, result.removed) == (2, 2)
    assert len(calls) == 1 and "--bundle" in calls[0]
    assert installed_cookies(clean, "br-int", NET) == {f.cookie for f in changed}
    apply_flows(clean, "br-int", [], NET)
    assert installed_cookies(clean, "br-int", NET) == set()


def test_other_owners_and_bridges_are_untouched(clean):
    taas = [nf(5, 100, "in_port=100", "goto_table:10", owner=TAAS)]
    tun = [nf(0, 0, "", "drop", bridge="br-tun")]
    apply_flows(clean, "br-int", taas, TAAS)
    apply_flows(clean, "br-tun", tun, NET)
    apply_flows(clean, "br-int", BASE, NET)
    apply_flows(clean, "br-int", [], NET)
    assert installed_cookies(clean, "br-int", TAAS) == {taas[0].cookie}
    assert installed_cookies(clean, "br-tun", NET) == {tun[0].cookie}
    assert installed_cookies(clean, "br-int", NET) == set()


def test_bundle_is_atomic_a_bad_line_installs_nothing(clean):
    apply_flows(clean, "br-int", BASE, NET)
    bad = [*BASE[1:], nf(0, 20, "in_port=101", "goto_table:5"),
           nf(0, 30, "in_port=102", "no_such_action:7")]
    with pytest.raises(OvsError):
        apply_flows(clean, "br-int", bad, NET)
    # Neither the delete of BASE[0] nor the good add happened.
    assert installed_cookies(clean, "br-int", NET) == {f.cookie for f in BASE}


def test_bundle_rejected_by_switch_is_atomic_too(clean):
    # Parses fine but the switch refuses it (goto a lower table): still all-or-nothing.
    bad = [*BASE, nf(10, 5, "in_port=7", "goto_table:5")]
    with pytest.raises(OvsError):
        apply_flows(clean, "br-int", bad, NET)
    assert installed_cookies(clean, "br-int", NET) == set()


def test_wrong_bridge_or_owner_is_refused(clean):
    with pytest.raises(ValueError):
        apply_flows(clean, "br-int", [nf(0, 0, "", "drop", bridge="br-tun")], NET)
    with pytest.raises(ValueError):
        apply_flows(clean, "br-int", [nf(0, 0, "", "drop", owner=TAAS)], NET)


def test_bundle_text_deletes_first():
    text = bundle_text({0x4E45000000000001}, [BASE[0]])
    assert text.splitlines() == ["delete cookie=0x4e45000000000001/-1", BASE[0].add_line()]


def test_many_flows_apply_fast(clean):
    import time
    flows = [nf(10, 10, f"reg6=1,dl_dst=02:00:00:00:{i >> 8:02x}:{i & 255:02x}",
                "set_field:100->reg7,goto_table:20") for i in range(2000)]
    started = time.monotonic()
    assert apply_flows(clean, "br-int", flows, NET).added == 2000
    assert apply_flows(clean, "br-int", flows, NET).changed is False
    assert time.monotonic() - started < 5
