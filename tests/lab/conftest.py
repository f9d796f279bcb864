"""Shared helpers for lab tests: the skip condition, unique lab names, leftover scans."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from taas.ovs.host import pid_alive


def _lab_possible() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    for tool in ("ip", "ovs-vswitchd", "ovsdb-server", "ethtool"):
        if not shutil.which(tool):
            return f"needs {tool}"
    probe = f"taas-probe{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode:
        return "cannot create network namespaces"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


_REASON = _lab_possible()
needs_lab = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")


def lab_name(tag: str) -> str:
    """Unique per process and module, so parallel runs never share a namespace prefix."""
    return f"{tag}{os.getpid() % 100000}"[:12]


def namespaces(prefix: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(prefix)]


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline and pid_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def root_links() -> set[str]:
    out = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout
    return {line.split()[0].split("@")[0] for line in out.splitlines() if line.strip()}


def leftovers(name: str, workdir: Path) -> dict:
    return {"namespaces": namespaces(f"taas-{name}-"),
            "processes": processes_mentioning(str(workdir)),
            "pidfiles": sorted(str(p) for p in workdir.glob("hosts/*/run/*.pid")),
            "state": (workdir / "lab-state.json").exists()}


NOTHING = {"namespaces": [], "processes": [], "pidfiles": [], "state": False}
