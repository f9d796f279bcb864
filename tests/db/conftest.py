"""Database fixtures: SQLite always; real PostgreSQL and MariaDB in a throwaway database.

The servers are the local ones (trust auth). Each test session creates its own database
(taas_test_<random>), migrates it once and drops it at the end. Unreachable server: the
test is skipped, or fails when CI=true (CI must not silently skip them).
"""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from taas.db.engine import Database, make_engine
from taas.db.migrate import upgrade
from taas.db.models import Base

SERVERS = {
    "postgresql": os.environ.get("TAAS_TEST_POSTGRESQL_URL",
                                 "postgresql+psycopg2://postgres@127.0.0.1/postgres"),
    "mariadb": os.environ.get("TAAS_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1/"),
}


def _unreachable(kind: str, exc: Exception):
    message = f"{kind} server unreachable at {SERVERS[kind]}: {exc}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _server_database(kind: str):
    """Create taas_test_<random> on the server; yield its URL; drop it afterwards."""
    admin_url = make_url(SERVERS[kind])
    name = f"taas_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if kind == "postgresql":
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            else:
                conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 "
                                  "COLLATE utf8mb4_bin"))
    except OperationalError as exc:
        _unreachable(kind, exc)
    url = admin_url.set(database=name)
    engine = make_engine(url.render_as_string(hide_password=False))
    upgrade(engine)
    engine.dispose()
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            if kind == "postgresql":
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@pytest.fixture(scope="session")
def postgresql_url():
    yield from _server_database("postgresql")


@pytest.fixture(scope="session")
def mariadb_url():
    yield from _server_database("mariadb")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("db-template") / "taas.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _empty(engine) -> None:
    """Delete every row, children first, so each test starts from an empty schema."""
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql),
            pytest.param("mariadb", marks=pytest.mark.mariadb)]


@pytest.fixture(params=BACKENDS)
def backend_url(request, tmp_path, sqlite_template) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        import shutil
        path = tmp_path / "taas.sqlite"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def db(backend_url) -> Database:
    database = Database(make_engine(backend_url, pool_size=20, max_overflow=40))
    _empty(database.engine)
    yield database
    database.dispose()
