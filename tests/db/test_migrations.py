"""Migrations: the packaged Alembic scripts build exactly the models' schema everywhere."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from taas.db import cli
from taas.db.engine import make_engine
from taas.db.migrate import current_revision, upgrade
from taas.db.models import Base


def test_schema_matches_models(db):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], diff
    assert current_revision(db.engine) == "0001_initial"


def test_upgrade_is_idempotent(db):
    upgrade(db.engine)
    upgrade(db.engine)
    assert current_revision(db.engine) == "0001_initial"


def test_taas_db_upgrade_command(tmp_path, capsys):
    path = tmp_path / "fresh.sqlite"
    conf = tmp_path / "taas.conf"
    conf.write_text(f"[database]\nconnection = sqlite:///{path}\n")
    assert cli.main(["upgrade", "--config-file", str(conf)]) == 0
    assert capsys.readouterr().out.strip() == "0001_initial"
    engine = make_engine(f"sqlite:///{path}")
    assert {"tap_services", "tap_flows", "tap_mirrors", "tap_mirror_tunnels", "agents",
            "quotas", "projects", "ports", "networks"} <= set(inspect(engine).get_table_names())
    engine.dispose()
    assert cli.main(["current", "--config-file", str(conf)]) == 0
