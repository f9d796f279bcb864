"""50 concurrent tap service creates on real servers: unique session ids, exact quotas."""
from __future__ import annotations

import threading
import uuid

import pytest

from taas.api.app import create_app
from taas.api.auth import Caller
from taas.api.errors import NeutronError
from taas.api.ops import networks, ports, tap_services
from taas.api.schemas.admin import QuotaUpdate
from taas.api.ops import admin as admin_ops
from taas.api.schemas.inventory import NetworkCreate, PortCreate
from taas.api.schemas.taas import TapServiceCreate
from taas.config import Settings
from taas.db.engine import make_engine
from taas.db.models import TapService

THREADS = 50
ADMIN = Caller(user="admin", project_id="admin", roles=("admin",), is_admin=True)

pytestmark = pytest.mark.parametrize("backend", [
    pytest.param("postgresql", marks=pytest.mark.postgresql),
    pytest.param("mariadb", marks=pytest.mark.mariadb)])


@pytest.fixture
def runtime(request, backend):
    url = request.getfixturevalue(f"{backend}_url")
    # One connection per thread: the test is about concurrent transactions.
    engine = make_engine(url, pool_size=THREADS + 5, max_overflow=0)
    app = create_app(Settings(database_url=url, auth_strategy="noauth"), engine=engine)
    yield app.state.runtime
    engine.dispose()


def _port_for(runtime, project: str) -> str:
    net = runtime.write(ADMIN, lambda ctx: networks.create(ctx, NetworkCreate(project_id=project)))
    return runtime.write(ADMIN, lambda ctx: ports.create(ctx, PortCreate(
        network_id=net["id"], project_id=project)))["id"]


def _hammer(runtime, jobs) -> tuple[list[dict], list[NeutronError]]:
    """Run every job(runtime) at the same instant, each in its own thread."""
    barrier = threading.Barrier(len(jobs))
    created, refused, crashed = [], [], []
    lock = threading.Lock()

    def run(job):
        barrier.wait()
        try:
            result = job()
            with lock:
                created.append(result)
        except NeutronError as exc:
            with lock:
                refused.append(exc)
        except Exception as exc:  # anything else is a bug
            with lock:
                crashed.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not crashed, crashed
    return created, refused


def _session_ids(runtime) -> list[int]:
    return runtime.db.read(lambda s: [row.session_id for row in s.query(TapService)])


def test_one_project_quota_is_exact_and_session_ids_unique(runtime):
    project = f"p-{uuid.uuid4().hex[:8]}"
    port_id = _port_for(runtime, project)
    runtime.write(ADMIN, lambda ctx: admin_ops.update_quota(ctx, project,
                                                            QuotaUpdate(tap_service=40)))
    caller = Caller(user="u", project_id=project, roles=("member",), is_admin=False)
    body = TapServiceCreate(port_id=port_id)
    jobs = [lambda: runtime.write(caller, lambda ctx: tap_services.create(ctx, body),
                                  projects=[project])] * THREADS
    created, refused = _hammer(runtime, jobs)
    assert len(created) == 40 and len(refused) == 10
    assert {(e.status, e.type) for e in refused} == {(409, "OverQuota")}
    ids = _session_ids(runtime)
    assert len(ids) == 40 and len(set(ids)) == 40
    assert sorted(ids) == list(range(10000, 10040))  # lowest free ids, no holes


def test_many_projects_at_once_get_distinct_session_ids(runtime):
    """Different projects do not share a quota lock: only UNIQUE + retries keep ids apart."""
    projects = [f"q-{uuid.uuid4().hex[:8]}" for _ in range(THREADS)]
    port_ids = {p: _port_for(runtime, p) for p in projects}
    before = set(_session_ids(runtime))

    def job(project):
        caller = Caller(user="u", project_id=project, roles=("member",), is_admin=False)
        body = TapServiceCreate(port_id=port_ids[project])
        return lambda: runtime.write(caller, lambda ctx: tap_services.create(ctx, body),
                                     projects=[project])

    created, refused = _hammer(runtime, [job(p) for p in projects])
    assert refused == [] and len(created) == THREADS
    ids = set(_session_ids(runtime)) - before
    assert len(ids) == THREADS
