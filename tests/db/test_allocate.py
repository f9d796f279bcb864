"""Lowest-free id allocation: holes, reuse, exhaustion and conflicting concurrent ids."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from taas.db.allocate import IdsExhausted, allocate, lowest_free
from taas.db.models import Network


def _network(session, seg: int, nid: str | None = None) -> None:
    session.add(Network(id=nid or f"n{seg}", project_id="p", segmentation_id=seg))
    session.flush()


def test_lowest_free_finds_holes(db):
    db.write(lambda s: [_network(s, seg) for seg in (1, 2, 4, 5, 8)])
    got = db.read(lambda s: lowest_free(s, Network.segmentation_id, 1, 10, 4))
    assert got == [3, 6, 7, 9]
    assert db.read(lambda s: lowest_free(s, Network.segmentation_id, 3, 3, 1)) == [3]
    assert db.read(lambda s: lowest_free(s, Network.segmentation_id, 4, 5, 1)) == []
    assert db.read(lambda s: lowest_free(s, Network.segmentation_id, 6, 10, 2)) == [6, 7]


def test_allocate_takes_lowest_and_reports_exhaustion(db):
    def create(session, nid):
        net = Network(id=nid, project_id="p")

        def insert(seg):
            net.segmentation_id = seg
            session.add(net)
            session.flush()
        return allocate(session, Network.segmentation_id, 7, 9, insert)

    assert [db.write(lambda s, i=i: create(s, f"x{i}")) for i in range(3)] == [7, 8, 9]
    with pytest.raises(IdsExhausted):
        db.write(lambda s: create(s, "x4"))


def test_allocate_retries_when_a_concurrent_writer_takes_the_id(db):
    """Simulate the race: the id we saw free is committed by someone else before our
    insert; the UNIQUE constraint rejects ours inside a savepoint and we move on."""
    stolen = []

    def steal(conn, cursor, statement, params, context, executemany):
        if not stolen and statement.lstrip().upper().startswith("INSERT INTO NETWORKS"):
            stolen.append(1)
            with db.engine.connect() as other:
                other.exec_driver_sql(
                    "INSERT INTO networks (id, project_id, name, description, shared, "
                    "admin_state_up, segmentation_id, created_at, updated_at) VALUES "
                    "('thief', 'p', '', '', false, true, 1, '2020-01-01', '2020-01-01')")
                other.commit()

    if db.dialect == "sqlite":
        pytest.skip("SQLite serializes writers: a concurrent insert cannot interleave")
    net = Network(id="mine", project_id="p")

    def insert(seg):
        net.segmentation_id = seg
        db_session.add(net)
        db_session.flush()

    event.listen(db.engine, "before_cursor_execute", steal)
    try:
        with db.writer() as db_session, db_session.begin():
            got = allocate(db_session, Network.segmentation_id, 1, 5, insert)
    finally:
        event.remove(db.engine, "before_cursor_execute", steal)
    assert stolen and got != 1 and 2 <= got <= 5
