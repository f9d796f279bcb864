"""`taas lab up|status|exec|move|reconcile|down`: the emulated cloud from the command line."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_WORKDIR = os.environ.get("TAAS_LAB_WORKDIR", "/tmp/taas-lab")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="taas lab", description="The emulated multi-host cloud.")
    sub = p.add_subparsers(dest="cmd", required=True)

    def cmd(name, help_):
        c = sub.add_parser(name, help=help_)
        c.add_argument("--workdir", default=DEFAULT_WORKDIR,
                       help=f"state, logs and OVS files (default {DEFAULT_WORKDIR}, "
                            "or $TAAS_LAB_WORKDIR)")
        return c

    def api(c, required_hint):
        c.add_argument("--api", help=f"TaaS API URL{required_hint}")
        c.add_argument("--token", default=os.environ.get("TAAS_TOKEN"),
                       help="admin token (default $TAAS_TOKEN)")

    up = cmd("up", "build the lab from a spec and register it with the TaaS API")
    up.add_argument("--spec", required=True, help="YAML spec (see docs/lab.md)")
    api(up, " (required unless --offline)")
    up.add_argument("--transport", metavar="URL",
                    help="run the TaaS server and one agent per host as processes over this "
                         "oslo.messaging transport (e.g. rabbit://guest:guest@127.0.0.1:5672/)")
    up.add_argument("--database", metavar="URL",
                    help="with --transport: the server's database (default: SQLite in workdir)")
    up.add_argument("--offline", action="store_true",
                    help="no API: segmentation ids from an in-memory registry")
    st = cmd("status", "show hosts, networks, VMs")
    st.add_argument("--json", action="store_true")
    ex = cmd("exec", "run a command in a VM: taas lab exec VM -- CMD...")
    ex.add_argument("vm")
    ex.add_argument("command", nargs=argparse.REMAINDER)
    mv = cmd("move", "move a VM to another host")
    mv.add_argument("vm")
    mv.add_argument("host")
    api(mv, " (default: the one the lab was built with)")
    rc = cmd("reconcile", "re-apply the underlay and network flows (after a vswitchd restart)")
    rc.add_argument("host", nargs="?")
    dn = cmd("down", "remove every namespace and process of the lab")
    api(dn, " to deregister ports and networks (default: the one of up)")
    dn.add_argument("--keep-registration", action="store_true",
                    help="leave the ports and networks in the TaaS server")
    return p


def _registry(args, state_api: str | None, needed: bool):
    from taas.lab.registry import HttpRegistry, InMemoryRegistry
    cloud = Path(args.workdir) / CLOUD_FILE
    if cloud.exists() and not getattr(args, "api", None):
        # A lab started with --transport: its own server, its admin token.
        record = json.loads(cloud.read_text())
        return HttpRegistry(record["url"], args.token or record["admin_token"])
    url = getattr(args, "api", None) or state_api
    if not url:
        return InMemoryRegistry()      # an offline lab: nothing to tell
    if not args.token:
        if needed:
            raise SystemExit("taas lab: give --token (or set TAAS_TOKEN) for " + url)
        return None
    return HttpRegistry(url, args.token)


def _print_status(status: dict) -> None:
    print(f"lab {status['name']} ({status['phase']}) in {status['workdir']}"
          f"  api: {status['api_url'] or 'offline'}")
    for name, h in status["hosts"].items():
        alive = "running" if h["ovs-vswitchd"] and h["ovsdb-server"] else "DAEMONS DOWN"
        print(f"  host {name:<12} {h['tunnel_ip']:<15} netns {h['netns']}  ovs {alive}"
              f"  OVS_RUNDIR={h['ovs_rundir']}")
    for name, n in status["networks"].items():
        print(f"  network {name:<16} {n['cidr']:<18} seg {n['segmentation_id']}"
              f"{'  shared' if n['shared'] else ''}  id {n['id']}")
    for name, v in status["vms"].items():
        role = "monitor" if v["monitor"] else "vm"
        ports = ", ".join(f"{p['dev']} {p['network']} {p['ip']} {p['mac']}" for p in v["ports"])
        print(f"  {role} {name:<14} on {v['host']:<8} {ports}")


CLOUD_FILE = "cloud.json"


def _up_distributed(args) -> int:
    """Server and agents as processes that keep running after this command returns."""
    from taas.lab.distributed import Distributed
    from taas.lab.spec import load
    workdir = Path(args.workdir).absolute()
    cloud_dir = workdir / "cloud"
    database = args.database or f"sqlite:///{cloud_dir / 'taas.sqlite'}"
    started = time.monotonic()
    cloud = Distributed(load(args.spec), cloud_dir, database, args.transport, lab_dir=workdir)
    cloud.start()
    cloud.save(workdir / CLOUD_FILE)
    cloud.lab.close()
    print(f"lab {cloud.lab.name} up in {time.monotonic() - started:.1f}s: API {cloud.url} "
          f"(admin token in {workdir / CLOUD_FILE}), {len(cloud.agents)} agents over "
          f"{args.transport}, database {database}; logs in {cloud_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    from taas.lab.lab import Lab, LabError
    from taas.lab.registry import InMemoryRegistry, RegistryError
    from taas.lab.spec import SpecError
    from taas.lab.system import ns_argv
    try:
        if args.cmd == "up" and args.transport:
            return _up_distributed(args)
        if args.cmd == "up":
            if not args.api and not args.offline:
                raise LabError("give --api URL --token T (the TaaS server), or --offline")
            registry = InMemoryRegistry() if args.offline else None
            started = time.monotonic()
            lab = Lab.up(args.spec, args.workdir, args.api, args.token, registry=registry)
            print(f"lab {lab.name} up in {time.monotonic() - started:.1f}s "
                  f"({len(lab.hosts)} hosts, {len(lab.vms)} VMs); workdir {lab.workdir}")
            lab.close()
            return 0
        lab = Lab.open(args.workdir)
        try:
            if args.cmd == "status":
                status = lab.status()
                if args.json:
                    print(json.dumps(status, indent=1))
                else:
                    _print_status(status)
            elif args.cmd == "exec":
                command = args.command[1:] if args.command[:1] == ["--"] else args.command
                if not command:
                    raise LabError("usage: taas lab exec VM -- CMD...")
                return subprocess.run(ns_argv(lab.netns(args.vm), command)).returncode
            elif args.cmd == "move":
                lab.registry = _registry(args, lab.state.api_url, needed=True)
                lab.move(args.vm, args.host)
                print(f"{args.vm} now on {args.host}")
            elif args.cmd == "reconcile":
                for host, result in lab.reconcile(args.host).items():
                    print(host, {br: (r.added, r.removed) for br, r in result.items()})
            elif args.cmd == "down":
                lab.registry = (None if args.keep_registration
                                else _registry(args, lab.state.api_url, needed=False))
                started = time.monotonic()
                lab.down(deregister=not args.keep_registration)
                from taas.lab.distributed import Distributed
                Distributed.stop_saved(Path(args.workdir) / CLOUD_FILE)
                print(f"lab {lab.name} down in {time.monotonic() - started:.1f}s")
        finally:
            lab.close()
    except (LabError, SpecError, RegistryError) as exc:
        print(f"taas lab: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
