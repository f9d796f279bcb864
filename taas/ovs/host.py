"""A private Open vSwitch: its own ovsdb-server and ovs-vswitchd, optionally inside a netns."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Sequence

SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
DAEMONS = ("ovs-vswitchd", "ovsdb-server")   # stop order: the switch before its database


class OvsError(RuntimeError):
    """An OVS (or other system) command failed; the message holds the command and stderr."""

    def __init__(self, cmd: Sequence[str], returncode: int, stderr: str):
        self.cmd, self.returncode, self.stderr = list(cmd), returncode, stderr
        super().__init__(f"{' '.join(cmd)!s} exited {returncode}: {stderr.strip()}")


def run(cmd: Sequence[str], *, env=None, stdin: str | None = None, check: bool = True,
        timeout: float = 60) -> str:
    """Run a command, return its stdout; raise OvsError on a non-zero exit when check."""
    proc = subprocess.run(list(cmd), input=stdin, capture_output=True, text=True, env=env,
                          timeout=timeout)
    if check and proc.returncode:
        raise OvsError(cmd, proc.returncode, proc.stderr or proc.stdout)
    return proc.stdout


def pid_alive(pid: int) -> bool:
    """True if pid exists and is not a zombie (PID 1 here may never reap our daemons)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def pid_cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def kill_pids(pids, grace: float = 3.0) -> None:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL whatever still runs."""
    pids = [p for p in set(pids) if p > 1 and p != os.getpid()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.02)
    for pid in pids:
        if pid_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.02)


class OvsHost:
    """One hypervisor's Open vSwitch, with every file under `workdir`.

    `netns`: the daemons run in that (existing) network namespace, so vswitchd's netdev
    bridges and the routes it learns are that host's. Clients (vsctl, ofctl, appctl) talk
    over unix sockets and need no namespace. `dummy=True` starts vswitchd with
    --enable-dummy so bridges with datapath_type=dummy create no kernel devices at all
    (tests without a namespace).
    """

    def __init__(self, name: str, workdir: str | os.PathLike, netns: str | None = None, *,
                 dummy: bool = False):
        self.name = name
        self.workdir = Path(workdir).absolute()
        self.netns = netns
        self.dummy = dummy
        self.rundir = self.workdir / "run"
        self.dbdir = self.workdir / "db"
        self.logdir = self.workdir / "log"
        self.etcdir = self.workdir / "etc"
        self.db_file = self.dbdir / "conf.db"
        self.db_socket = self.rundir / "db.sock"
        # Every client gets these, so nothing ever touches the machine's default OVS.
        self.env = {**os.environ, "OVS_RUNDIR": str(self.rundir), "OVS_DBDIR": str(self.dbdir),
                    "OVS_LOGDIR": str(self.logdir), "OVS_SYSCONFDIR": str(self.etcdir),
                    "OVS_PKGDATADIR": "/usr/share/openvswitch"}

    @classmethod
    def from_rundir(cls, rundir: str | os.PathLike, name: str = "local") -> "OvsHost":
        """A client-only handle on an OVS started elsewhere: only its rundir is known
        (db.sock, <bridge>.mgmt, ovs-vswitchd.pid). start()/stop() are not for it."""
        host = cls(name, Path(rundir).absolute().parent)
        host.rundir = Path(rundir).absolute()
        host.db_socket = host.rundir / "db.sock"
        host.env["OVS_RUNDIR"] = str(host.rundir)
        return host

    def __repr__(self) -> str:
        return f"OvsHost({self.name!r}, {str(self.workdir)!r}, netns={self.netns!r})"

    @property
    def db_url(self) -> str:
        """The OVSDB remote for ovsdbapp and ovs-vsctl --db."""
        return f"unix:{self.db_socket}"

    def pidfile(self, daemon: str) -> Path:
        return self.rundir / f"{daemon}.pid"

    def pid(self, daemon: str) -> int | None:
        """The daemon's pid if its pidfile names a live process that is really ours."""
        try:
            pid = int(self.pidfile(daemon).read_text().strip())
        except (OSError, ValueError):
            return None
        # A stale pidfile after a crash may name a recycled pid: check it is our daemon.
        if pid_alive(pid) and f"--pidfile={self.pidfile(daemon)}" in pid_cmdline(pid):
            return pid
        return None

    def running(self) -> bool:
        return all(self.pid(d) for d in DAEMONS)

    def _in_netns(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *argv] if self.netns else argv

    def start(self, fresh: bool = False) -> None:
        """Create the database if needed, then start ovsdb-server and ovs-vswitchd."""
        for d in (self.rundir, self.dbdir, self.logdir, self.etcdir):
            d.mkdir(parents=True, exist_ok=True)
        if fresh and self.db_file.exists():
            self.db_file.unlink()
        if not self.db_file.exists():
            run(["ovsdb-tool", "create", str(self.db_file), SCHEMA], env=self.env)
        if not self.pid("ovsdb-server"):
            run(self._in_netns([
                "ovsdb-server", str(self.db_file), f"--remote=punix:{self.db_socket}",
                "--remote=db:Open_vSwitch,Open_vSwitch,manager_options",
                f"--pidfile={self.pidfile('ovsdb-server')}", "--detach",
                f"--log-file={self.logdir / 'ovsdb-server.log'}"]), env=self.env)
            self.vsctl("--no-wait", "init")
            self.vsctl("--no-wait", "set", "Open_vSwitch", ".",
                       f"external_ids:system-id={self.name}",
                       f"external_ids:hostname={self.name}")
        self.start_vswitchd()

    def start_vswitchd(self) -> None:
        if self.pid("ovs-vswitchd"):
            return
        argv = ["ovs-vswitchd", self.db_url, f"--pidfile={self.pidfile('ovs-vswitchd')}",
                "--detach", f"--log-file={self.logdir / 'ovs-vswitchd.log'}"]
        if self.dummy:
            argv.append("--enable-dummy")
        # --detach returns once vswitchd has read the database and built its bridges.
        run(self._in_netns(argv), env=self.env)

    def stop_daemon(self, daemon: str) -> None:
        pid = self.pid(daemon)
        if pid:
            kill_pids([pid])
        self.pidfile(daemon).unlink(missing_ok=True)

    def stop(self) -> None:
        """Stop both daemons (by pidfile, verified); files stay for post-mortems."""
        for daemon in DAEMONS:
            self.stop_daemon(daemon)

    def restart_vswitchd(self) -> None:
        """Stop and start ovs-vswitchd only: OpenFlow flows are lost, OVSDB config is kept."""
        self.stop_daemon("ovs-vswitchd")
        self.start_vswitchd()

    def vsctl(self, *args: str, timeout: float = 20) -> str:
        return run(["ovs-vsctl", f"--timeout={int(timeout)}", f"--db={self.db_url}", *args],
                   env=self.env, timeout=timeout + 5)

    def ofctl(self, *args: str, stdin: str | None = None) -> str:
        """ovs-ofctl -O OpenFlow13; a bridge name resolves to <rundir>/<bridge>.mgmt."""
        return run(["ovs-ofctl", "-O", "OpenFlow13", *args], env=self.env, stdin=stdin)

    def appctl(self, *args: str, target: str = "ovs-vswitchd") -> str:
        return run(["ovs-appctl", "-t", target, *args], env=self.env)
