"""Make a bridge hold exactly one owner's desired flows: diff by cookie, apply one bundle."""
from __future__ import annotations

import dataclasses
import re
from typing import Iterable

from taas.dataplane import layout
from taas.dataplane.flows import Flow
from taas.ovs.host import OvsHost

_COOKIE = re.compile(r"cookie=(0x[0-9a-fA-F]+)")
_TABLE = re.compile(r"\btable=(\d+)")
_PRIORITY = re.compile(r"\bpriority=(\d+)")
_DEFAULT_PRIORITY = 32768   # ovs-ofctl omits priority=32768 from its dumps


@dataclasses.dataclass(frozen=True)
class ApplyResult:
    added: int
    removed: int

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def installed_flows(host: OvsHost, bridge: str, owner: int) -> dict[int, tuple[int, int]]:
    """cookie -> (table, priority) of every flow on `bridge` under `owner`'s cookie prefix."""
    out = host.ofctl("dump-flows", bridge,
                     f"cookie={owner:#x}/{layout.COOKIE_OWNER_MASK:#x}")
    found: dict[int, tuple[int, int]] = {}
    for line in out.splitlines():
        cookie = _COOKIE.search(line)
        if not cookie:      # the "OFPST_FLOW reply" header line
            continue
        table = _TABLE.search(line)
        priority = _PRIORITY.search(line)
        found[int(cookie.group(1), 16)] = (int(table.group(1)) if table else 0,
                                           int(priority.group(1)) if priority
                                           else _DEFAULT_PRIORITY)
    return found


def installed_cookies(host: OvsHost, bridge: str, owner: int) -> set[int]:
    """The cookies `owner` has on `bridge` (its top 16 bits are the owner's)."""
    return set(installed_flows(host, bridge, owner))


def bundle_text(stale: Iterable[int], missing: Iterable[Flow]) -> str:
    """The add-flows file: deletes first, so a changed flow's old version never lingers."""
    lines = [f"delete cookie={cookie:#x}/-1" for cookie in sorted(stale)]
    lines += [flow.add_line() for flow in sorted(missing, key=lambda f: f.cookie)]
    return "\n".join(lines) + "\n"


def apply_flows(host: OvsHost, bridge: str, desired: Iterable[Flow], owner: int) -> ApplyResult:
    """Make `bridge` hold exactly `desired` among the flows whose cookie says `owner`.

    Flows of other owners are never touched. The whole difference goes in ONE OpenFlow
    bundle, so the switch sees either the old set or the new one; when nothing differs no
    write is made at all (re-applying is a cheap dump). Raises ValueError for a flow of
    another bridge or owner, taas.ovs.host.OvsError if OVS rejects the bundle (then nothing
    of it was installed).
    """
    wanted: dict[int, Flow] = {}
    for flow in desired:
        if flow.bridge != bridge:
            raise ValueError(f"flow for {flow.bridge} passed to apply_flows({bridge!r})")
        if flow.cookie & layout.COOKIE_OWNER_MASK != owner:
            raise ValueError(f"flow cookie {flow.cookie:#x} is not owned by {owner:#x}")
        wanted[flow.cookie] = flow
    have = installed_cookies(host, bridge, owner)
    stale = have - wanted.keys()
    missing = [flow for cookie, flow in wanted.items() if cookie not in have]
    if not stale and not missing:
        return ApplyResult(0, 0)
    host.ofctl("--bundle", "add-flows", bridge, "-", stdin=bundle_text(stale, missing))
    return ApplyResult(added=len(missing), removed=len(stale))
