"""`taas bench api`: creates per second over HTTP and listing 10,000 tap flows, SQLite and PostgreSQL."""
from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
import traceback
import uuid
from pathlib import Path

import httpx
import yaml

from taas.bench import report

PROJECT = "bench0000000000000000000000000000"[:32]
ADMIN, ADMIN_PROJECT = "admin-token", "adm00000000000000000000000000000"[:32]
TOKEN = "bench-token"
PG_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1/postgres"


@contextlib.contextmanager
def postgres_database():
    """A fresh PostgreSQL database, dropped afterwards; yields its URL."""
    import sqlalchemy as sa
    name = f"taas_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def server(url: str, workdir: Path):
    """The API app (quotas unlimited) under uvicorn in a thread; yields (base URL, app)."""
    from taas import config
    from taas.api.app import create_app
    from taas.lab.allinone import ApiThread, free_port
    tokens = workdir / "tokens.yaml"
    tokens.write_text(yaml.safe_dump({"tokens": {
        ADMIN: {"user": "admin", "project_id": ADMIN_PROJECT, "roles": ["admin"]},
        TOKEN: {"user": "bench", "project_id": PROJECT, "roles": ["member"]}}}))
    settings = config.Settings(database_url=url, tokens_file=str(tokens),
                               quota_tap_flow=-1, quota_tap_service=-1)
    app = create_app(settings)
    api = ApiThread(app, free_port()).start()
    try:
        yield api.url, app
    finally:
        api.stop()


def _ok(r: httpx.Response, code: int = 201) -> dict:
    if r.status_code != code:
        raise RuntimeError(f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:300]}")
    return r.json()


def bulk_ports(url: str, network_id: str, count: int) -> list[str]:
    """`count` ports of the bench project, inserted directly with the DB layer."""
    from taas.db import models
    from taas.db.engine import Database
    db = Database.from_url(url)
    ids = [models.new_id() for _ in range(count)]
    db.write(lambda s: s.add_all(models.Port(
        id=pid, project_id=PROJECT, network_id=network_id, name=f"p{i}",
        mac_address=f"fa:16:3e:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}",
        fixed_ips=[], host="") for i, pid in enumerate(ids)))
    db.dispose()
    return ids


def bulk_tap_flows(url: str, services: list[str], sources: list[str], count: int) -> None:
    """`count` more tap flows inserted directly with the DB layer (status ACTIVE)."""
    from taas.db import models
    from taas.db.engine import Database
    db = Database.from_url(url)
    for first in range(0, count, 2000):
        chunk = range(first, min(first + 2000, count))
        db.write(lambda s, chunk=chunk: s.add_all(models.TapFlow(
            project_id=PROJECT, name=f"bulk{i}", tap_service_id=services[i % len(services)],
            source_port=sources[i % len(sources)], direction="BOTH", status="ACTIVE")
            for i in chunk))
    db.dispose()


def timed_list(http: httpx.Client, limit: int | None, expect: int) -> tuple[float, int]:
    """Seconds to GET every tap flow (following next links when paged) and the request count."""
    started, requests, seen = time.monotonic(), 0, 0
    path = "/v2.0/taas/tap_flows" + (f"?limit={limit}" if limit else "")
    while path:
        body = _ok(http.get(path), 200)
        requests += 1
        seen += len(body["tap_flows"])
        path = next((link["href"] for link in body.get("tap_flows_links", ())
                     if link["rel"] == "next"), None)
    elapsed = time.monotonic() - started
    if seen != expect:
        raise RuntimeError(f"listed {seen} tap flows, expected {expect}")
    return elapsed, requests


def run_backend(url: str, workdir: Path, creates: int, total: int, repeat: int = 3) -> dict:
    with server(url, workdir) as (base, _app):
        admin = httpx.Client(base_url=base, headers={"X-Auth-Token": ADMIN}, timeout=60)
        http = httpx.Client(base_url=base, headers={"X-Auth-Token": TOKEN}, timeout=120)
        try:
            net = _ok(admin.post("/v2.0/networks", json={"network": {
                "name": "bench-net", "project_id": PROJECT}}))["network"]
            ports = bulk_ports(url, net["id"], 2 * creates)
            monitors, sources = ports[:creates], ports[creates:]
            t = time.monotonic()
            services = [_ok(http.post("/v2.0/taas/tap_services", json={"tap_service": {
                "name": f"ts{i}", "port_id": monitors[i]}}))["tap_service"]["id"]
                for i in range(creates)]
            ts_rate = creates / (time.monotonic() - t)
            t = time.monotonic()
            for i in range(creates):
                _ok(http.post("/v2.0/taas/tap_flows", json={"tap_flow": {
                    "name": f"tf{i}", "tap_service_id": services[i], "source_port": sources[i],
                    "direction": "BOTH"}}))
            tf_rate = creates / (time.monotonic() - t)
            bulk_tap_flows(url, services, sources, total - creates)
            unpaged = [timed_list(http, None, total) for _ in range(repeat)]
            paged = [timed_list(http, 1000, total) for _ in range(repeat)]
        finally:
            admin.close()
            http.close()
    return {"ts_rate": ts_rate, "tf_rate": tf_rate,
            "unpaged": statistics.median(s for s, _ in unpaged),
            "paged": statistics.median(s for s, _ in paged), "pages": paged[0][1]}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="taas bench api", description=__doc__)
    p.add_argument("--creates", type=int, default=1000, help="tap services and tap flows each")
    p.add_argument("--total", type=int, default=10000, help="tap flows in the listing")
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--no-doc", action="store_true")
    args = p.parse_args(argv)
    rows, notes, measured_on = [], [], report.machine()
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix="taas-bench-api-") as tmp:
            try:
                with contextlib.ExitStack() as stack:
                    url = (f"sqlite:///{tmp}/taas.sqlite" if backend == "sqlite"
                           else stack.enter_context(postgres_database()))
                    r = run_backend(url, Path(tmp), args.creates, args.total)
            except Exception as exc:
                traceback.print_exc()
                notes.append(f"{backend}: not measured ({type(exc).__name__}: {exc})")
                continue
        rows.append([backend, f"{r['ts_rate']:.0f}", f"{r['tf_rate']:.0f}",
                     f"{r['unpaged']:.2f}", f"{r['paged']:.2f} ({r['pages']} requests)"])
    text = (
        "### API\n\n"
        f"A live uvicorn server (in-process thread, quotas unlimited), one httpx client, "
        f"sequential requests as a member. Creates: {args.creates:,} tap services then "
        f"{args.creates:,} BOTH tap flows over HTTP (their {2 * args.creates:,} ports and the "
        f"remaining {args.total - args.creates:,} tap flows bulk-inserted with taas.db, not via "
        f"HTTP). Listing: all {args.total:,} tap flows, unpaged and with limit=1000 following "
        "next links; median of 3. PostgreSQL: a fresh database, dropped afterwards.\n\n"
        + report.table(["database", "tap services /s", "tap flows /s",
                        f"list {args.total:,} unpaged s", "list paged (limit=1000) s"], rows)
        + "\n" + "".join(f"\n{n}\n" for n in notes))
    print(text)
    if not args.no_doc:
        report.write_section("api", f"Started on: {measured_on}\n\n{text}")
    return 1 if notes else 0
