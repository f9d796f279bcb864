"""The `taas` command: server, agent, db, lab, demo, bench."""
from __future__ import annotations

import importlib
import sys
import warnings

# Each subcommand is a module with main(argv: list[str]) -> int | None; imported lazily
# so `taas lab ...` does not pay for FastAPI and `taas server` not for the lab.
COMMANDS = {
    "server": ("taas.api.server", "run the TaaS API server"),
    "db": ("taas.db.cli", "database migrations: taas db upgrade"),
    "agent": ("taas.agent.main", "run the TaaS agent of one hypervisor"),
    "lab": ("taas.lab.cli", "the emulated cloud: up, status, exec, move, down"),
    "demo": ("taas.lab.demo", "bring up a lab, mirror traffic, show it, tear down"),
    "bench": ("taas.bench.cli", "benchmarks: api, dataplane, control"),
}


def usage() -> str:
    lines = ["usage: taas COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<8} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # eventlet (pulled in by python-ovs and oslo) warns on import; users cannot act on it.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print(usage(), file=sys.stderr if argv and argv[0] not in ("-h", "--help") else sys.stdout)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return module.main(argv[1:]) or 0


if __name__ == "__main__":
    sys.exit(main())
