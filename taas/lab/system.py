"""Thin wrappers around ip(8): namespaces, batches, and the processes living in a namespace."""
from __future__ import annotations

import subprocess
from typing import Sequence

from taas.ovs.host import OvsError, kill_pids, pid_alive, run

__all__ = ["OvsError", "run", "netns_list", "netns_add", "netns_del", "netns_pids",
           "ip_batch", "ns_exec", "ns_argv", "kill_netns_processes", "link_exists"]


def netns_list() -> list[str]:
    out = run(["ip", "netns", "list"])
    # Lines look like "name" or "name (id: 3)".
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def netns_add(name: str) -> None:
    run(["ip", "netns", "add", name])
    run(["ip", "-n", name, "link", "set", "lo", "up"])


def netns_del(name: str) -> None:
    run(["ip", "netns", "del", name], check=False)


def netns_pids(name: str) -> list[int]:
    out = run(["ip", "netns", "pids", name], check=False)
    return [int(p) for p in out.split() if p.isdigit()]


def kill_netns_processes(name: str) -> None:
    """Every process in the namespace was started for it (daemons, exec'd tools): end them."""
    pids = [p for p in netns_pids(name) if pid_alive(p)]
    if pids:
        kill_pids(pids)


def ip_batch(netns: str | None, lines: Sequence[str]) -> None:
    """Many ip(8) commands in one process (one fork instead of one per command)."""
    if not lines:
        return
    argv = ["ip", "-n", netns, "-batch", "-"] if netns else ["ip", "-batch", "-"]
    run(argv, stdin="\n".join(lines) + "\n")


def ns_argv(netns: str, cmd: Sequence[str] | str) -> list[str]:
    cmd = ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
    return ["ip", "netns", "exec", netns, *cmd]


def ns_exec(netns: str, cmd: Sequence[str] | str, *, timeout: float = 60, check: bool = False,
            input: str | None = None) -> subprocess.CompletedProcess:
    """Run a command (argv, or a string for sh -c) in a namespace and capture its output."""
    proc = subprocess.run(ns_argv(netns, cmd), capture_output=True, text=True, input=input,
                          timeout=timeout)
    if check and proc.returncode:
        raise OvsError(ns_argv(netns, cmd), proc.returncode, proc.stderr or proc.stdout)
    return proc


def link_exists(netns: str, dev: str) -> bool:
    return subprocess.run(["ip", "-n", netns, "link", "show", dev],
                          capture_output=True).returncode == 0
