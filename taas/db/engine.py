"""Engines and transactions: backend quirks, writer serialization on SQLite, retries."""
from __future__ import annotations

import logging
import random
import time
from pathlib import Path
from typing import Callable, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

LOG = logging.getLogger(__name__)
T = TypeVar("T")

# Errors after which the whole transaction may simply run again.
_PG_RETRY_CODES = {"40001", "40P01"}          # serialization failure, deadlock
# Lock wait timeout, deadlock, and "SAVEPOINT does not exist": InnoDB rolls back the whole
# transaction on a deadlock, so rolling back to a savepoint afterwards fails with 1305.
_MYSQL_RETRY_CODES = {1205, 1213, 1305}
WRITE_ATTEMPTS = 8


def make_engine(url: str, pool_size: int = 10, max_overflow: int = 30) -> Engine:
    """An engine tuned for its backend (see the comments on each branch)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if not database or database == ":memory:":
            kwargs["poolclass"] = StaticPool  # one shared in-memory database
        engine = create_engine(parsed, **kwargs)
        _configure_sqlite(engine)
        return engine
    if backend == "mysql" and "charset" not in parsed.query:
        # Full UTF-8 (utf8 on MySQL is 3 bytes and rejects emoji).
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    # READ COMMITTED everywhere: after waiting for a lock, a statement sees what the lock
    # holder committed (InnoDB's default REPEATABLE READ would keep a stale snapshot, and a
    # quota count taken after SELECT ... FOR UPDATE would be wrong).
    return create_engine(parsed, isolation_level="READ COMMITTED", pool_pre_ping=True,
                         pool_size=pool_size, max_overflow=max_overflow)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy emit BEGIN itself (below) instead of pysqlite's implicit one,
        # which also makes SAVEPOINT work.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: never corrupts; only a power loss may drop the last commits.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # SQLite has no row locks: writers take the database write lock up front
        # (BEGIN IMMEDIATE), so quota checks and id allocation are serialized.
        # Readers stay DEFERRED and do not block under WAL.
        if conn.get_execution_options().get("taas_writer"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def is_retryable(exc: BaseException) -> bool:
    """A deadlock, serialization failure or busy SQLite: the transaction can run again."""
    if not isinstance(exc, DBAPIError) or exc.orig is None:
        return False
    orig = exc.orig
    if getattr(orig, "pgcode", None) in _PG_RETRY_CODES:
        return True
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_RETRY_CODES:
        return True
    return "database is locked" in str(orig)


class Database:
    """An engine plus its session factories; `write` runs a function in a retried transaction."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.dialect = engine.dialect.name
        self.reader = sessionmaker(engine, expire_on_commit=False)
        self.writer = sessionmaker(engine.execution_options(taas_writer=True),
                                   expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> "Database":
        return cls(make_engine(url))

    def read(self, fn: Callable[[Session], T]) -> T:
        with self.reader() as session, session.begin():
            return fn(session)

    def write(self, fn: Callable[[Session], T], attempts: int = WRITE_ATTEMPTS) -> T:
        """Run fn(session) and commit; rerun the whole of it after a deadlock.

        fn must only touch the database, so running it again is safe.
        """
        for attempt in range(1, attempts + 1):
            try:
                with self.writer() as session, session.begin():
                    return fn(session)
            except DBAPIError as exc:
                if attempt == attempts or not is_retryable(exc):
                    raise
                delay = random.uniform(0, 0.02 * 2 ** attempt)
                LOG.info("transaction conflict (%s), retry %d in %.3fs",
                         exc.orig.__class__.__name__, attempt, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()
