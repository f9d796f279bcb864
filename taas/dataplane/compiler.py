"""Pure compiler: one host's desired TaaS state + OVS facts -> the exact TaaS flows and statuses."""
from __future__ import annotations

import collections
import dataclasses
import ipaddress
from typing import Iterable, Mapping

from taas.dataplane import encoding
from taas.dataplane import layout as L
from taas.dataplane import vlanfilter
from taas.dataplane.flows import Flow
from taas.dataplane.model import HostFacts, HostState, TapFlowSpec, TapServiceSpec

ACTIVE = "ACTIVE"
ERROR = "ERROR"
DIRECTIONS = ("IN", "OUT", "BOTH")
MAX_VXLAN_KEY = 2**24 - 1  # the session id becomes the 24-bit VNI on taas-tun
PRIO_TAP = 100  # br-tap belongs to TaaS alone; its only default is the priority-0 drop

# The one flow TaaS always owns: br-tap drops whatever no session claims.
TAP_DEFAULT_DROP = Flow(L.BR_TAP, 0, 0, "", "drop")


@dataclasses.dataclass(frozen=True)
class CompiledHost:
    """What one host's bridges must hold under COOKIE_TAAS, and each resource's status."""
    flows: frozenset[Flow]
    statuses: dict[str, tuple[str, str]]   # resource id -> (ACTIVE, "") | (ERROR, reason)
    needs_mirror_tunnel: bool              # copies may leave or arrive over taas-tun

    def sorted_flows(self) -> list[Flow]:
        """Flows in a stable order (bridge, table, priority, match), e.g. for a bundle file."""
        return sorted(self.flows)


@dataclasses.dataclass(frozen=True)
class _Route:
    """Where a session's copies go from this host: the service and local or a tunnel IP."""
    tap_service_id: str
    remote_ip: str | None   # None: the monitor is on this host (hairpin in br-tap)


def compile_host(state: HostState, facts: HostFacts) -> CompiledHost:
    """Compile deterministically: same input -> the same flows, byte for byte."""
    if state.host != facts.host:
        raise ValueError(f"state is for host {state.host!r}, facts for {facts.host!r}")
    host = state.host
    statuses: dict[str, tuple[str, str]] = {}

    services = _check_services(state.tap_services, facts.ofports, host, statuses)
    routes = _check_tap_flows(state.tap_flows, services, facts.ofports, host, statuses)
    _reject_tag_collisions(state, services, routes, statuses)
    # Collisions may have turned resources to ERROR: keep only what is still ACTIVE.
    services = {s: sv for s, sv in services.items() if statuses[sv[0].id][0] == ACTIVE}
    live = [tf for tf in sorted(state.tap_flows)
            if tf.session_id in routes and statuses[tf.id][0] == ACTIVE]

    flows = {TAP_DEFAULT_DROP}
    flows |= _hook_flows(live, facts.ofports)
    for session in sorted({tf.session_id for tf in live}):
        flows |= _source_session_flows(session, routes[session])
    for session, (_, ofport) in sorted(services.items()):
        flows |= _monitor_session_flows(session, ofport)

    needs_tunnel = bool(state.tap_services) or any(
        tf.dest_host is not None and tf.dest_host != host for tf in state.tap_flows)
    return CompiledHost(frozenset(flows), dict(sorted(statuses.items())), needs_tunnel)


def _session_problem(session_id: int) -> str | None:
    """Why a session id cannot be carried (tag and VNI), or None."""
    if isinstance(session_id, bool) or not isinstance(session_id, int) or session_id < 0:
        return f"session id {session_id!r} is not a non-negative integer"
    if session_id > MAX_VXLAN_KEY:
        return f"session id {session_id} does not fit a 24-bit VXLAN key"
    return None


def _port_problem(ofports: Mapping[str, int], port_id: str, role: str, host: str) -> str | None:
    """Why a port cannot be tapped or monitored here: unplugged, or not a VM port (a
    patch or tunnel number would send copies into production)."""
    ofport = ofports.get(port_id)
    if ofport is None:
        return f"{role} port {port_id} is not plugged on host {host}"
    if isinstance(ofport, bool) or not isinstance(ofport, int) or ofport < L.FIRST_VM_OFPORT:
        return (f"{role} port {port_id} has ofport {ofport!r} on host {host}, not a VM port "
                f"(>= {L.FIRST_VM_OFPORT})")
    return None


def _check_services(specs: Iterable[TapServiceSpec], ofports: Mapping[str, int], host: str,
                    statuses: dict) -> dict[int, tuple[TapServiceSpec, int]]:
    """Tap services whose monitor port is plugged here, by session id; statuses for all."""
    by_session: dict[int, list[TapServiceSpec]] = collections.defaultdict(list)
    for svc in sorted(specs):
        problem = _session_problem(svc.session_id)
        problem = problem or _port_problem(ofports, svc.port_id, "monitor", host)
        if problem:
            statuses[svc.id] = (ERROR, problem)
        else:
            by_session[svc.session_id].append(svc)
    plugged = {}
    for session, svcs in by_session.items():
        if len(svcs) > 1:
            # Two services cannot share a tag: refuse both rather than mix their copies.
            ids = ", ".join(s.id for s in svcs)
            for svc in svcs:
                statuses[svc.id] = (ERROR, f"session {session} is claimed by tap services {ids}")
            continue
        svc = svcs[0]
        statuses[svc.id] = (ACTIVE, "")
        plugged[session] = (svc, ofports[svc.port_id])
    return plugged


def _tap_flow_route(tf: TapFlowSpec, services: Mapping[int, tuple[TapServiceSpec, int]],
                    ofports: Mapping[str, int], host: str) -> _Route | str:
    """The tap flow's route, or the reason it cannot have one."""
    if tf.direction not in DIRECTIONS:
        return f"direction {tf.direction!r} is not one of {', '.join(DIRECTIONS)}"
    problem = _session_problem(tf.session_id)
    if problem:
        return problem
    if tf.vlan_filter is not None:
        # An unreadable filter is refused, never ignored: mirroring more than asked is a
        # leak, not a fallback ("" included: it is not "no filter", which is None).
        try:
            vlanfilter.parse(tf.vlan_filter)
        except ValueError as exc:
            return f"vlan_filter {tf.vlan_filter!r} is not valid: {exc}"
    problem = _port_problem(ofports, tf.source_port_id, "source", host)
    if problem:
        return problem
    if tf.dest_host is None:
        return (f"the port of tap service {tf.tap_service_id} is not bound to a host yet; "
                "no destination for the copies")
    if tf.dest_host == host:
        local = services.get(tf.session_id)
        if local is None:
            return (f"tap service {tf.tap_service_id} (session {tf.session_id}) is not "
                    f"ready on host {host}")
        if local[0].id != tf.tap_service_id:
            return (f"session {tf.session_id} belongs to tap service {local[0].id} on host "
                    f"{host}, not {tf.tap_service_id}")
        return _Route(tf.tap_service_id, None)
    if tf.dest_tunnel_ip is None:
        return (f"host {tf.dest_host} of tap service {tf.tap_service_id} has no known "
                "tunnel address")
    try:
        ip = ipaddress.ip_address(tf.dest_tunnel_ip)
    except ValueError:
        return f"tunnel address {tf.dest_tunnel_ip!r} of host {tf.dest_host} is not an IP"
    return _Route(tf.tap_service_id, str(ip))


def _check_tap_flows(specs: Iterable[TapFlowSpec],
                     services: Mapping[int, tuple[TapServiceSpec, int]],
                     ofports: Mapping[str, int], host: str, statuses: dict) -> dict[int, _Route]:
    """One route per session used by a valid tap flow; a session whose flows disagree on
    the destination gets none (its flows go ERROR: a guess could feed a wrong monitor)."""
    by_session: dict[int, dict[_Route, list[str]]] = collections.defaultdict(dict)
    for tf in sorted(specs):
        route = _tap_flow_route(tf, services, ofports, host)
        if isinstance(route, str):
            statuses[tf.id] = (ERROR, route)
        else:
            statuses[tf.id] = (ACTIVE, "")
            by_session[tf.session_id].setdefault(route, []).append(tf.id)
    # A tap service on this host claims its session here: a flow sending it elsewhere conflicts.
    for session, (svc, _) in services.items():
        if session in by_session:
            by_session[session].setdefault(_Route(svc.id, None), [])
    routes = {}
    for session, seen in sorted(by_session.items()):
        if len(seen) == 1:
            routes[session] = next(iter(seen))
            continue
        where = "; ".join(sorted(f"{r.tap_service_id} at {r.remote_ip or host}" for r in seen))
        for ids in seen.values():
            for tf_id in ids:
                statuses[tf_id] = (ERROR, f"tap flows of session {session} disagree on "
                                          f"the destination ({where})")
    return routes


def _reject_tag_collisions(state: HostState, services: Mapping, routes: Mapping,
                           statuses: dict) -> None:
    """Sessions outside one 32752-id range can share a tag: refuse them all, never mix."""
    by_tag: dict[tuple[int, int], set[int]] = collections.defaultdict(set)
    for session in set(services) | set(routes):
        by_tag[encoding.session_tag(session)].add(session)
    clashing = {s for sessions in by_tag.values() if len(sessions) > 1 for s in sessions}
    if not clashing:
        return
    for spec in (*state.tap_services, *state.tap_flows):
        if spec.session_id in clashing and statuses[spec.id][0] == ACTIVE:
            others = sorted(s for s in clashing if s != spec.session_id
                            and encoding.session_tag(s) == encoding.session_tag(spec.session_id))
            statuses[spec.id] = (ERROR, f"session {spec.session_id} has the same VLAN encoding "
                                        f"as session(s) {others} on this host")


def _copy_actions(session: int) -> str:
    """Push the session tag and send the copy to br-tap."""
    return f"{encoding.push_session_actions(session)},output:{L.INT_PATCH_TAP}"


def _hook_flows(live: list[TapFlowSpec], ofports: Mapping[str, int]) -> set[Flow]:
    """br-int OUT (table 5, in_port) and IN (table 25, reg7) hooks: one flow per port, one
    clone per tap flow (two tap flows into one service give two copies: both were asked
    for), clones in tap-flow-id order, then the goto the default flow would have done.

    A tap flow without vlan_filter copies in its clone. One with a filter gets the k-th
    (k = 1, 2, ... over the port's filtered tap flows in id order) clone
    `clone(set_field:k->reg5,resubmit(,<filter table>))`; the filter table (6 for OUT, 26 for
    IN) copies only when reg5, the port and the packet's outer VLAN id match (one flow per
    aligned VLAN block), else its priority-0 drop ends the clone. The clone discards reg5
    and any push, so the production path continues exactly as without TaaS."""
    egress: dict[int, list[TapFlowSpec]] = collections.defaultdict(list)
    ingress: dict[int, list[TapFlowSpec]] = collections.defaultdict(list)
    for tf in live:  # already sorted by id
        port = ofports[tf.source_port_id]
        if tf.direction in ("OUT", "BOTH"):
            egress[port].append(tf)
        if tf.direction in ("IN", "BOTH"):
            ingress[port].append(tf)
    flows = set()
    for table, key, nxt, filter_table, hooks in (
            (L.T_EGRESS_HOOK, "in_port", L.T_L2, L.T_EGRESS_FILTER, egress),
            (L.T_INGRESS_HOOK, L.REG_OUT_PORT, L.T_OUTPUT, L.T_INGRESS_FILTER, ingress)):
        filtered = 0
        for port, tfs in hooks.items():
            clones = []
            k = 0
            for tf in tfs:
                if tf.vlan_filter is None:
                    clones.append(f"clone({_copy_actions(tf.session_id)})")
                    continue
                k += 1
                clones.append(f"clone(set_field:{k}->{L.REG_TAP_FLOW},"
                              f"resubmit(,{filter_table}))")
                for vid_match in vlanfilter.vlan_vid_matches(tf.vlan_filter):
                    flows.add(Flow(L.BR_INT, filter_table, L.PRIO_TAAS_FILTER,
                                   f"{L.REG_TAP_FLOW}={k},{key}={port},{vid_match}",
                                   _copy_actions(tf.session_id)))
            filtered += k
            flows.add(Flow(L.BR_INT, table, L.PRIO_TAAS_HOOK, f"{key}={port}",
                           f"{','.join(clones)},goto_table:{nxt}"))
        if filtered:
            # OpenFlow 1.3 leaves a table miss to the switch: make it an explicit drop.
            flows.add(Flow(L.BR_INT, filter_table, 0, "", "drop"))
    return flows


def _source_session_flows(session: int, route: _Route) -> set[Flow]:
    """br-tap (and br-tun for a remote monitor) flows that send a session's copies on."""
    match = encoding.match_session(session)
    from_int = f"in_port={L.TAP_PATCH_INT},{match}"
    if route.remote_ip is None:
        # Monitor on this host: straight back to br-int, whose table 0 delivers it.
        return {Flow(L.BR_TAP, 0, PRIO_TAP, from_int, "IN_PORT")}
    dst_field = "tun_ipv6_dst" if ":" in route.remote_ip else "tun_dst"
    return {
        Flow(L.BR_TAP, 0, PRIO_TAP, from_int, f"output:{L.TAP_PATCH_TUN}"),
        Flow(L.BR_TUN, 0, L.PRIO_TAAS_TUN, f"in_port={L.TUN_PATCH_TAP},{match}",
             f"{encoding.POP_SESSION_ACTIONS},set_field:{session}->tun_id,"
             f"set_field:{route.remote_ip}->{dst_field},output:{L.TUN_MIRROR_PORT}"),
    }


def _monitor_session_flows(session: int, monitor_ofport: int) -> set[Flow]:
    """Flows on the tap service's host: from taas-tun or the br-tap hairpin to the monitor."""
    match = encoding.match_session(session)
    return {
        Flow(L.BR_TUN, 0, L.PRIO_TAAS_TUN, f"in_port={L.TUN_MIRROR_PORT},tun_id={session}",
             f"{encoding.push_session_actions(session)},output:{L.TUN_PATCH_TAP}"),
        Flow(L.BR_TAP, 0, PRIO_TAP, f"in_port={L.TAP_PATCH_TUN},{match}",
             f"output:{L.TAP_PATCH_INT}"),
        Flow(L.BR_INT, L.T_CLASSIFY, L.PRIO_TAAS_DELIVER, f"in_port={L.INT_PATCH_TAP},{match}",
             f"{encoding.POP_SESSION_ACTIONS},output:{monitor_ofport}"),
    }
