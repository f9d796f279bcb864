"""`taas bench dataplane`: (a) flow programming, (b) API-to-copy latency, (c) iperf3 throughput."""
from __future__ import annotations

import argparse
import statistics
import tempfile
import traceback
from pathlib import Path

from taas.bench import flows, labnet, report


def part_flows() -> str:
    results = flows.run()
    rows = [[r.shape, f"{r.tap_flows:,}", f"{r.of_flows:,}", f"{r.compile_s:.3f}",
             f"{r.first_s:.2f}", f"{r.noop_s:.2f}", f"{r.baseline_s:.1f}",
             f"{r.baseline_s / r.first_s:.0f}x", r.baseline_note] for r in results]
    return (
        "### (a) Agent programming 10,000 tap flows on one host\n\n"
        "A private ovs-vswitchd (dummy datapath, no namespace), br-int/br-tun and 1,000 dummy VM "
        "ports; a static desired state of 10,000 BOTH tap flows to services on another host. "
        "`Reconciler.reconcile()` from empty (read ofports, compile, diff, one bundle per "
        "bridge), then a second pass with nothing to change, versus the same compiled flows "
        "written with one `ovs-ofctl add-flow` process each on the same switch. Hook flows are "
        "per port (one flow carries a port's 10 clones), so the OpenFlow count depends on how "
        "many sessions the tap flows use: 10 (shape 1) or 10,000 (shape 2).\n\n"
        + report.table(["shape", "tap flows", "OpenFlow flows", "compile s", "reconcile s",
                        "no-change s", "add-flow each s", "ratio", "baseline"], rows) + "\n")


def part_latency(workdir: Path, tries: int) -> str:
    head = "### (b) API call -> first copy at the monitor\n\n"
    if not labnet.api_available():
        return head + ("Not measured: the API server (taas.api.app) was not available when "
                       "this ran. The code is `taas.bench.labnet.latency_api`.\n")
    try:
        results = labnet.latency_api(workdir, tries)
    except Exception as exc:
        traceback.print_exc()
        return head + (f"Not measured: the all-in-one cloud failed ({type(exc).__name__}: "
                       f"{exc}). The code is `taas.bench.labnet.latency_api`.\n")
    rows = [[case, len(s), f"{labnet.pct(s, 50) * 1000:.0f}", f"{labnet.pct(s, 95) * 1000:.0f}",
             f"{max(s) * 1000:.0f}"] for case, s in results.items()]
    return head + (
        "All-in-one cloud (API, in-memory RPC, one agent per host). ICMP echo a1 (h1) -> a2 "
        "(h2) every 5 ms; `tcpdump -l` on the monitor; t0 just before POST tap_flow (BOTH, "
        "tap service already ACTIVE), t1 = first copy line read; delete, settle, repeat.\n\n"
        + report.table(["monitor", "tries", "p50 ms", "p95 ms", "max ms"], rows) + "\n")


def part_throughput(workdir: Path, seconds: int, via: str, rounds: int) -> str:
    results, why_not = None, ""
    if via in ("auto", "api") and labnet.api_available():
        try:
            results = labnet.throughput_api(workdir / "api", seconds, rounds)
            how = ("all-in-one cloud: tap service and tap flow created through the API, "
                   "programmed by the agents")
        except Exception as exc:
            if via == "api":
                raise
            traceback.print_exc()
            why_not = f" (the all-in-one cloud failed: {type(exc).__name__}: {exc})"
    elif via == "auto":
        why_not = " (taas.api.app was not importable)"
    if results is None:
        results = labnet.throughput_static(workdir, seconds, rounds)
        how = ("lab (Lab.up with an InMemoryRegistry) and one Reconciler per host fed a static "
               "desired state; the API was not used" + why_not)
    by_case = {case: [r for r in results if r[0] == case] for case, _ in labnet.CASES}
    median = {case: statistics.median(r[1] for r in runs) for case, runs in by_case.items()}
    rows = [[case, f"{median[case]:,.0f}", " / ".join(f"{r[1]:,.0f}" for r in runs),
             f"{median[case] / median['none']:.2f}",
             f"{statistics.median(r[2] for r in runs):,.0f}" if case != "none" else "-"]
            for case, runs in by_case.items()]
    return (
        "### (c) TCP throughput with mirroring\n\n"
        f"iperf3 a1 (h1) -> a2 (h2), {seconds} s each, {rounds} rounds of the 3 cases "
        f"interleaved in one run (median shown); BOTH mirror of a1's port to a "
        f"monitor on h1 (local) or h2 (remote, over the mirror VXLAN tunnel). Mirror set up via "
        f"the {how}. Copies = packets received by the monitor's eth0 during a run (median). "
        "Userspace (netdev) datapath: throughput is bound by the CPUs, so other load on the machine shows.\n\n"
        + report.table(["mirror", "Mbit/s (median)", "each round", "vs none",
                        "copies at monitor"], rows) + "\n")


PARTS = ("flows", "latency", "throughput")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="taas bench dataplane", description=__doc__)
    p.add_argument("--only", default=",".join(PARTS),
                   help="comma-separated parts: flows (a), latency (b), throughput (c)")
    p.add_argument("--tries", type=int, default=20)
    p.add_argument("--seconds", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3, help="(c): rounds of the 3 cases")
    p.add_argument("--via", choices=("auto", "api", "static"), default="auto",
                   help="how (c) sets up the mirror")
    p.add_argument("--no-doc", action="store_true", help="print only, leave docs alone")
    args = p.parse_args(argv)
    failed = 0
    for part in args.only.split(","):
        measured_on = report.machine()     # before the run: its load average is the neighbours'
        with tempfile.TemporaryDirectory(prefix=f"taas-bench-{part}-") as tmp:
            try:
                if part == "flows":
                    text = part_flows()
                elif part == "latency":
                    text = part_latency(Path(tmp), args.tries)
                elif part == "throughput":
                    text = part_throughput(Path(tmp), args.seconds, args.via, args.rounds)
                else:
                    p.error(f"unknown part {part!r}")
            except Exception:
                traceback.print_exc()
                failed += 1
                continue
        print(text, flush=True)
        if not args.no_doc:
            report.write_section(f"dataplane:{part}",
                                 f"Started on: {measured_on}\n\n{text}")
    return 1 if failed else 0
