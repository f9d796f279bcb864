"""A private ovsdb-server + ovs-vswitchd (dummy datapath) and ofproto/trace parsing for tests."""
from __future__ import annotations

import ctypes
import dataclasses
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterable, Mapping

from taas.dataplane import layout as L

SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")
BINARIES = ("ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-ofctl", "ovs-appctl")


def available() -> bool:
    return SCHEMA.exists() and all(shutil.which(b) for b in BINARIES)


def _die_with_parent() -> None:
    # If the test process is killed, its daemons must not outlive it (PR_SET_PDEATHSIG).
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


class OvsSandbox:
    """One emulated switch host: its own database and vswitchd, all files in one temp dir.

    No root, no namespace: `--enable-dummy` gives bridges of datapath_type=dummy whose
    ports are in-process; ofproto/trace then shows what the real OpenFlow pipeline does.
    """

    def __init__(self, root: str | None = None):
        # A short path: unix socket names are limited to ~107 bytes.
        self.root = Path(root or tempfile.mkdtemp(prefix="taas-ovs-"))
        self.env = dict(os.environ, OVS_RUNDIR=str(self.root), OVS_DBDIR=str(self.root),
                        OVS_LOGDIR=str(self.root), OVS_SYSCONFDIR=str(self.root))
        self._procs: list[subprocess.Popen] = []

    def __enter__(self) -> "OvsSandbox":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        db, sock = self.root / "conf.db", self.root / "db.sock"
        self.run("ovsdb-tool", "create", str(db), str(SCHEMA))
        try:
            self._spawn("ovsdb-server", str(db), f"--remote=punix:{sock}")
            self._wait(lambda: sock.exists(), "ovsdb-server socket")
            self.run("ovs-vsctl", "--no-wait", "init")
            self._spawn("ovs-vswitchd", "--enable-dummy", "--disable-system",
                        "--disable-system-route", f"unix:{sock}")
            self._wait(lambda: self.run("ovs-appctl", "version", check=False).returncode == 0,
                       "ovs-vswitchd control socket")
        except BaseException:
            self.stop()
            raise

    def _spawn(self, *argv: str) -> None:
        log = self.root / f"{argv[0]}.log"
        self._procs.append(subprocess.Popen(
            [*argv, "--pidfile", "--no-chdir", f"--log-file={log}"], env=self.env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent))

    def _wait(self, ready, what: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            for proc in self._procs:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{proc.args[0]} exited ({proc.returncode}); see {self.root}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not ready after {timeout}s; see {self.root}")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop our daemons (ours only, by process handle), then remove the directory."""
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self._procs):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    # ---- commands -------------------------------------------------------------------------
    def run(self, *argv: str, check: bool = True, stdin: str | None = None):
        proc = subprocess.run(argv, env=self.env, input=stdin, capture_output=True, text=True,
                              timeout=30)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr}")
        return proc

    def vsctl(self, *args: str) -> str:
        return self.run("ovs-vsctl", "--timeout=10", *args).stdout

    def ofctl(self, *args: str, stdin: str | None = None) -> str:
        return self.run("ovs-ofctl", "-O", "OpenFlow13", *args, stdin=stdin).stdout

    def appctl(self, *args: str) -> str:
        return self.run("ovs-appctl", *args).stdout

    def replace_flows(self, bridge: str, lines: Iterable[str]) -> None:
        """Atomically make `lines` (add-flows syntax) the bridge's whole flow table."""
        self.ofctl("--bundle", "replace-flows", bridge, "-", stdin="\n".join(lines) + "\n")

    def add_flows(self, bridge: str, lines: Iterable[str]) -> None:
        self.ofctl("--bundle", "add-flows", bridge, "-", stdin="\n".join(lines) + "\n")

    def odp_ports(self) -> dict[str, int]:
        """Port name -> datapath port number (what trace's "Datapath actions" print)."""
        ports = {}
        for m in re.finditer(r"^\s+(\S+) \d+/(\d+):", self.appctl("dpif/show"), re.M):
            ports[m.group(1)] = int(m.group(2))
        return ports

    def trace(self, bridge: str, flow: str) -> "Trace":
        return Trace.parse(self.appctl("ofproto/trace", bridge, flow))


def build_taas_host(sb: OvsSandbox, vm_ports: Mapping[str, tuple[int, str]],
                    tunnel_ip: str = "192.0.2.1",
                    peers: Mapping[str, tuple[int, str, str]] | None = None) -> None:
    """The docs/pipeline.md bridges: br-int/br-tun/br-tap, patch ports with their fixed
    numbers, taas-tun (VXLAN 4790, remote_ip=flow, key=flow) as port 3, VM ports
    (name -> (ofport, iface-id)) and production VXLAN ports (name -> (ofport, ip, mac)).
    br-phy holds the underlay address so tunnels resolve (route and ARP are pre-seeded)."""
    cmd = []
    for br in (L.BR_INT, L.BR_TUN, L.BR_TAP):
        cmd += ["--", "add-br", br, "--", "set", "bridge", br, "datapath_type=dummy",
                "fail_mode=secure"]
    for (br, ofport), name in sorted(L.PORT_NAMES.items()):
        if name == "taas-tun":
            opts = ["type=vxlan", "options:remote_ip=flow", "options:key=flow",
                    f"options:dst_port={L.MIRROR_TUNNEL_UDP_PORT}"]
        else:
            peer = _patch_peer(br, ofport)
            opts = ["type=patch", f"options:peer={peer}"]
        cmd += ["--", "add-port", br, name, "--", "set", "interface", name, *opts,
                f"ofport_request={ofport}"]
    for name, (ofport, iface_id) in sorted(vm_ports.items()):
        cmd += ["--", "add-port", L.BR_INT, name, "--", "set", "interface", name, "type=dummy",
                f"ofport_request={ofport}", f"external_ids:iface-id={iface_id}"]
    peers = peers or {}
    for name, (ofport, ip, _) in sorted(peers.items()):
        cmd += ["--", "add-port", L.BR_TUN, name, "--", "set", "interface", name, "type=vxlan",
                f"options:remote_ip={ip}", "options:key=flow", f"ofport_request={ofport}"]
    cmd += ["--", "add-br", "br-phy", "--", "set", "bridge", "br-phy", "datapath_type=dummy",
            "fail_mode=standalone", "--", "add-port", "br-phy", "uplink", "--", "set",
            "interface", "uplink", "type=dummy"]
    sb.vsctl(*cmd)
    sb.appctl("netdev-dummy/ip4addr", "br-phy", f"{tunnel_ip}/24")
    sb.appctl("ovs/route/add", f"{tunnel_ip}/24", "br-phy")
    for _, ip, mac in peers.values():
        sb.appctl("tnl/arp/set", "br-phy", ip, mac)


def _patch_peer(bridge: str, ofport: int) -> str:
    pairs = {(L.BR_INT, L.INT_PATCH_TUN): (L.BR_TUN, L.TUN_PATCH_INT),
             (L.BR_INT, L.INT_PATCH_TAP): (L.BR_TAP, L.TAP_PATCH_INT),
             (L.BR_TUN, L.TUN_PATCH_TAP): (L.BR_TAP, L.TAP_PATCH_TUN)}
    pairs.update({v: k for k, v in pairs.items()})
    return L.PORT_NAMES[pairs[(bridge, ofport)]]


# ---- trace parsing ----------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Delivery:
    """One packet leaving the datapath: a port, the VLANs on it (outermost first), and for
    a tunnel its VNI, destination IP and UDP port."""
    port: int
    vlans: tuple[tuple[int, int], ...] = ()   # (vid, pcp)
    vni: int | None = None
    tun_dst: str | None = None
    udp_dst: int | None = None


@dataclasses.dataclass(frozen=True)
class Trace:
    text: str
    bridges: tuple[str, ...]        # bridges the trace entered, in order (with repeats)
    datapath_actions: str
    input_vlans: tuple[tuple[int, int], ...] = ()   # the traced packet's own tags

    @classmethod
    def parse(cls, text: str) -> "Trace":
        m = re.search(r"^Datapath actions: (.*)$", text, re.M)
        bridges = tuple(re.findall(r'bridge\("([^"]+)"\)', text))
        flow = re.search(r"^Flow: (.*)$", text, re.M)
        vlans: list[tuple[int, int]] = []
        outer = re.search(r"\bdl_vlan=(\d+),dl_vlan_pcp=(\d+)", flow.group(1) if flow else "")
        if outer:
            vlans.append((int(outer.group(1)), int(outer.group(2))))
            inner = re.search(r"\bvlan_tci1=(0x[0-9a-f]+)", flow.group(1))
            if inner and int(inner.group(1), 16) & 0x1000:
                tci = int(inner.group(1), 16)
                vlans.append((tci & 0xFFF, tci >> 13))
        return cls(text, bridges, m.group(1).strip() if m else "", tuple(vlans))

    def deliveries(self) -> list[Delivery]:
        """Interpret the datapath actions: every output with the packet's VLAN stack then."""
        out: list[Delivery] = []
        _interpret(_split(self.datapath_actions), list(self.input_vlans), out)
        return out

    def matched(self, bridge: str) -> list[str]:
        """Flow matches hit in `bridge` (lines like ' 0. in_port=2,dl_vlan=5, priority 200')."""
        hits, current = [], None
        for line in self.text.splitlines():
            b = re.search(r'bridge\("([^"]+)"\)', line)
            if b:
                current = b.group(1)
            elif current == bridge:
                # A catch-all flow prints no match: " 6. priority 0, cookie ...".
                m = re.match(r"\s*(\d+)\. (?:(.*), )?priority (\d+)", line)
                if m:
                    match = f",{m.group(2)}" if m.group(2) else ""
                    hits.append(f"table={m.group(1)},priority={m.group(3)}{match}")
        return hits


def _split(actions: str) -> list[str]:
    """Split an action list at top-level commas."""
    parts, depth, cur = [], 0, ""
    for ch in actions:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    if cur:
        parts.append(cur)
    return [p.strip() for p in parts if p.strip() and p.strip() != "drop"]


def _interpret(actions: list[str], vlans: list, out: list) -> None:
    vlans = list(vlans)
    for act in actions:
        if act.isdigit():
            out.append(Delivery(int(act), tuple(vlans)))
        elif act.startswith("push_vlan("):
            vid = int(re.search(r"vid=(\d+)", act).group(1))
            pcp = re.search(r"pcp=(\d+)", act)
            vlans.insert(0, (vid, int(pcp.group(1)) if pcp else 0))
        elif act == "pop_vlan":
            vlans.pop(0)
        elif act.startswith("clone("):
            _interpret(_split(act[len("clone("):-1]), vlans, out)
        elif act.startswith("tnl_push("):
            # The tunnel vport is the delivery; what follows in this list outputs the
            # encapsulated packet on the underlay, so it is not another delivery.
            vni = re.search(r"vni=(0x[0-9a-f]+)", act)
            dst = re.search(r"ipv[46]\(src=[^,]+,dst=([^,)]+)", act)
            udp = re.search(r"udp\(src=\d+,dst=(\d+)", act)
            port = int(re.search(r"tnl_port\((\d+)\)", act).group(1))
            out.append(Delivery(port, tuple(vlans), int(vni.group(1), 16) if vni else None,
                                dst.group(1) if dst else None,
                                int(udp.group(1)) if udp else None))
            return
        elif act.startswith(("set(", "ct(", "recirc(", "trunc(", "meter(", "userspace(")):
            continue   # metadata or features the TaaS tests do not use
        else:
            raise ValueError(f"datapath action not understood by the test helper: {act}")
